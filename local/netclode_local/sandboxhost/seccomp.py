"""The seccomp filter every process in a sandbox runs under (bwrap --seccomp FD).

Without it, a sandbox could make a nested user namespace (`unshare -Urnm` gives a full
capability set there, and with it mount and more of the kernel's attack surface), load
keys into the kernel keyring, trace its neighbours, or reach interfaces meant for the host
(bpf, perf, kexec, modules). Each of these answers EPERM, as if the sandbox lacked the
privilege, so programs that probe for them (Node, git, Python) fall back quietly.

The program is compiled by libseccomp's own Python bindings (the `mephi42-seccomp` wheel:
libseccomp built in, so no system library is needed). Only the native architecture is
allowed: a 32-bit or x32 syscall entry would otherwise be a way around every rule here.
"""

from __future__ import annotations

import errno
import os
import tempfile

import seccomp

# Refused outright: each is either a privilege a sandbox must not have or kernel surface it
# has no use for. ptrace covers tracing other processes (and PTRACE_TRACEME, useless alone).
DENIED = (
    # mounting and changing the root
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    # joining namespaces (making new ones: see NAMESPACE_FLAGS)
    "setns",
    # the kernel keyring
    "keyctl",
    "add_key",
    "request_key",
    # other processes' memory
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    # host-level interfaces
    "bpf",
    "perf_event_open",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "iopl",
    "ioperm",
    "open_by_handle_at",
    "userfaultfd",
    "lookup_dcookie",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
)
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080
NAMESPACE_FLAGS = (
    CLONE_NEWNS,
    CLONE_NEWCGROUP,
    CLONE_NEWUTS,
    CLONE_NEWIPC,
    CLONE_NEWUSER,
    CLONE_NEWPID,
    CLONE_NEWNET,
    CLONE_NEWTIME,
)


def build() -> seccomp.SyscallFilter:
    """Allow by default; EPERM for DENIED and for any new namespace.

    clone3 passes its flags in memory a filter cannot read, so it answers ENOSYS: glibc and
    the Go runtime then fall back to clone, whose flags the filter does check.
    """
    filt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    deny = seccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        filt.add_rule(deny, name)
    for flag in NAMESPACE_FLAGS:
        filt.add_rule(deny, "unshare", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
        filt.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    filt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    return filt


def program_fd() -> int:
    """A file descriptor (at offset 0) holding the compiled BPF program, for bwrap."""
    with tempfile.TemporaryFile() as file:
        build().export_bpf(file)
        file.flush()
        fd = os.dup(file.fileno())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
