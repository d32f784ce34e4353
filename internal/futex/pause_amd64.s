#include "textflag.h"

// func pause()
TEXT ·pause(SB),NOSPLIT,$0-0
	PAUSE
	RET

// func StoreRelease(addr *atomic.Uint64, v uint64)
TEXT ·StoreRelease(SB),NOSPLIT,$0-16
	MOVQ addr+0(FP), AX
	MOVQ v+8(FP), BX
	MOVQ BX, (AX)
	RET

// func StoreRelease32(addr *atomic.Uint32, v uint32)
TEXT ·StoreRelease32(SB),NOSPLIT,$0-12
	MOVQ addr+0(FP), AX
	MOVL v+8(FP), BX
	MOVL BX, (AX)
	RET
