/* SPDX-License-Identifier: Apache-2.0 */
/* Runs inside test containers (static, no libraries): tries the system calls the seccomp
 * tests care about and prints "name=result", the result being the call's return value or
 * -errno. */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static long result(long r)
{
        return r < 0 ? -errno : r;
}

int main(void)
{
        long keyctl = result(
                syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
        union bpf_attr attr = { .map_fd = (uint32_t)-1 };
        long bpf = result(syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof(attr)));
        long userns = result(unshare(CLONE_NEWUSER));
        printf("keyctl=%ld bpf=%ld unshare=%ld\n", keyctl, bpf, userns);
        return 0;
}
