package cdll

// TickYields exposes the count of calls that ended with a yield.
var TickYields = &tickYields
