package main

/*
static int mps_bench_add(int a, int b) { return a + b; }
*/
import "C"

// cgoAdd calls a C add directly through cgo: the floor of W9.
func cgoAdd(a, b int32) int32 { return int32(C.mps_bench_add(C.int(a), C.int(b))) }
