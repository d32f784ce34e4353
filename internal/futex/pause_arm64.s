#include "textflag.h"

// func pause()
TEXT ·pause(SB),NOSPLIT,$0-0
	YIELD
	RET

// func StoreRelease(addr *atomic.Uint64, v uint64)
TEXT ·StoreRelease(SB),NOSPLIT,$0-16
	MOVD addr+0(FP), R0
	MOVD v+8(FP), R1
	STLR R1, (R0)
	RET

// func StoreRelease32(addr *atomic.Uint32, v uint32)
TEXT ·StoreRelease32(SB),NOSPLIT,$0-12
	MOVD addr+0(FP), R0
	MOVWU v+8(FP), R1
	STLRW R1, (R0)
	RET
