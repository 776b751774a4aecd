#include "core/error.h"
// Header-only today; the translation unit keeps the library non-empty and is
// where shared error helpers will live.
