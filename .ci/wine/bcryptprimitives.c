/* Wine 8 (Debian 12) has no bcryptprimitives.dll, whose ProcessPrng Rust's
 * std (>= 1.78) imports on Windows for its random seed. This stand-in gives
 * ProcessPrng the bytes of RtlGenRandom (advapi32's SystemFunction036), which
 * Wine has. Only for running our Windows test binaries under Wine in CI. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x7fffffff ? 0x7fffffff : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
