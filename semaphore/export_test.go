package semaphore

// Layout offsets, for the tests that write garbage into live objects.
const (
	OffBarCount   = offBarCount
	OffCondSlot0  = offCondSlot0
	CondSlotSize  = condSlotSize
	OffSlotState  = offSlotState
	SlotWaiting   = slotWaiting
	SlotFree      = slotFree
	CondSlotCount = condSlots
)
