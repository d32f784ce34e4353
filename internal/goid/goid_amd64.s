#include "textflag.h"

// func getg() uintptr
TEXT ·getg(SB),NOSPLIT,$0-8
	MOVQ (TLS), R13
	MOVQ R13, ret+0(FP)
	RET
