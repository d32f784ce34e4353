package cdll

import (
	"errors"

	"github.com/mpsync/mpsync/internal/errs"
)

// Errors of the package; bad arguments match fs.ErrInvalid and say which
// argument and why.
var (
	// ErrLoad is returned when a library cannot be loaded or unloaded;
	// the error quotes dlerror.
	ErrLoad = errors.New("cdll: cannot load library")
	// ErrSymbol is returned for a symbol the library lacks; the error
	// quotes dlerror.
	ErrSymbol = errors.New("cdll: no such symbol")
	// ErrSignature is returned when libffi refuses a signature.
	ErrSignature = errors.New("cdll: unsupported signature")
	// ErrCallbackPanic is returned when a callback's Go function panicked
	// while C called it.
	ErrCallbackPanic = errors.New("cdll: callback panicked")
	// ErrFreed is returned for calls of a callback after Free.
	ErrFreed = errors.New("cdll: callback called after Free")
	// ErrClosed is returned by a closed Library.
	ErrClosed = errs.ErrClosed
)
