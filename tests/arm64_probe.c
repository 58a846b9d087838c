/*
 * arm64_probe.c - what an ARM64 processor (or qemu-aarch64's -cpu model)
 * offers, as the kernel reports it in AT_HWCAP/AT_HWCAP2, and which kernel
 * paths attntag takes on it: tests/arm64.sh checks with it that each qemu CPU
 * model it runs the tests under has (or lacks) the dot-product extension it
 * is meant to, and that ATTNTAG_KERNELS really selects the path it names.
 *
 * usage: arm64_probe [PATH...]
 * prints: "hwcap: asimd asimddp ..." (the features that matter to attntag's
 * kernels), "kernels: NAME" (the path in use: the best, or ATTNTAG_KERNELS),
 * then "available: PATH..." (those of the PATHs named that this processor
 * runs, by at_kernels_available).
 */
#include "attntag.h"

#include <stdio.h>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
/* the bits of <asm/hwcap.h>, in case the headers are older than the kernel */
#define PROBE_HWCAP_FP (1UL << 0)
#define PROBE_HWCAP_ASIMD (1UL << 1)
#define PROBE_HWCAP_FPHP (1UL << 9)
#define PROBE_HWCAP_ASIMDHP (1UL << 10)
#define PROBE_HWCAP_ASIMDDP (1UL << 20)
#define PROBE_HWCAP_SVE (1UL << 22)
#define PROBE_HWCAP2_I8MM (1UL << 13)
#define PROBE_HWCAP2_BF16 (1UL << 14)
#endif

int main(int argc, char **argv)
{
    printf("hwcap:");
#if defined(__aarch64__) && defined(__linux__)
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    static const struct {
        int word;
        unsigned long bit;
        const char *name;
    } bits[] = {
        {1, PROBE_HWCAP_FP, "fp"},         {1, PROBE_HWCAP_ASIMD, "asimd"},
        {1, PROBE_HWCAP_FPHP, "fphp"},     {1, PROBE_HWCAP_ASIMDHP, "asimdhp"},
        {1, PROBE_HWCAP_ASIMDDP, "asimddp"}, {1, PROBE_HWCAP_SVE, "sve"},
        {2, PROBE_HWCAP2_I8MM, "i8mm"},    {2, PROBE_HWCAP2_BF16, "bf16"},
    };
    for (size_t i = 0; i < sizeof bits / sizeof *bits; i++)
        if ((bits[i].word == 1 ? hw : hw2) & bits[i].bit)
            printf(" %s", bits[i].name);
    printf(" (AT_HWCAP %#lx, AT_HWCAP2 %#lx)", hw, hw2);
#else
    printf(" (not an ARM64 Linux build)");
#endif
    printf("\nkernels: %s\navailable:", at_kernels_name());
    for (int i = 1; i < argc; i++)
        if (at_kernels_available(argv[i]))
            printf(" %s", argv[i]);
    printf("\n");
    return 0;
}
