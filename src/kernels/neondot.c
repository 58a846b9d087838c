/*
 * neondot.c - the "neondot" path: neon.c compiled with the dot-product
 * instructions (-march=armv8.2-a+dotprod, see Makefile).
 */
#define AT_NEON_DOT 1
#include "neon.c"
