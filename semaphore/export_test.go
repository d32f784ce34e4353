package semaphore

// Layout offsets, for the tests that write garbage into live objects.
const (
	OffBarCount   = offBarCount
	OffBarParties = offBarParties
	OffCondTokens = offCondTokens
)
