package semaphore

// Layout offsets, for the tests that write garbage into live objects.
const (
	OffBarArrivals = offBarState + 4 // the high half of the state word
	OffCondTokens  = offCondTokens
)
