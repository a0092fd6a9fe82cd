"""LLVM operations numba does not expose to kernels: a software prefetch (for loops that know
their next memory reads before they need them); atomics (fetch-and-add, compare-and-exchange,
acquire loads and release stores) and a spin-wait hint, for threads that share out work and
wait on each other; and for byte scanning eight bytes at a time, an unaligned 8-byte load and
a count of trailing zero bits."""
import os
import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
_POSIX = os.name == "posix"


@intrinsic
def prefetch_row(typingctx, matrix, row):
    """Ask the CPU to start loading row ``row`` of a C-contiguous 2-D array into cache (one
    prefetch per 64-byte line); returns nothing and never faults, whatever the address."""
    if not (isinstance(matrix, types.Array) and matrix.ndim == 2 and isinstance(row, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        mat = context.make_array(signature.args[0])(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        start = cgutils.get_item_pointer(context, builder, signature.args[0], mat,
                                         [context.cast(builder, args[1], signature.args[1], types.intp), zero],
                                         wraparound=False)
        byte_ptr = ir.IntType(8).as_pointer()
        base = builder.bitcast(start, byte_ptr)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, ir.IntType(32), ir.IntType(32), ir.IntType(32)]),
            "llvm.prefetch.p0")
        row_bytes = builder.mul(cgutils.unpack_tuple(builder, mat.shape, 2)[1],
                                context.get_constant(types.intp, context.get_abi_sizeof(context.get_data_type(signature.args[0].dtype))))
        with cgutils.for_range_slice(builder, context.get_constant(types.intp, 0), row_bytes,
                                     context.get_constant(types.intp, 64)) as (offset, _):
            builder.call(fn, [builder.gep(base, [offset]), ir.Constant(ir.IntType(32), 1),
                              ir.Constant(ir.IntType(32), 3), ir.Constant(ir.IntType(32), 1)])
        return context.get_dummy_value()
    return types.void(matrix, row), codegen


def _int64_slot(context, builder, signature, args):
    """A pointer to ``counter[index]`` of a 1-D int64 array (the first two arguments)."""
    arr = context.make_array(signature.args[0])(context, builder, args[0])
    idx = context.cast(builder, args[1], signature.args[1], types.intp)
    return cgutils.get_item_pointer(context, builder, signature.args[0], arr, [idx], wraparound=False)


def _is_counter(counter, index):
    return (isinstance(counter, types.Array) and counter.ndim == 1 and counter.dtype == types.int64
            and isinstance(index, types.Integer))


@intrinsic
def fetch_add(typingctx, counter, index, value):
    """Atomically add ``value`` to ``counter[index]`` (a 1-D int64 array) and return the value
    it held before: a lock-free ticket for threads that share out work."""
    if not _is_counter(counter, index):
        return None

    def codegen(context, builder, signature, args):
        add = context.cast(builder, args[2], signature.args[2], types.int64)
        return builder.atomic_rmw("add", _int64_slot(context, builder, signature, args), add, "seq_cst")
    return types.int64(counter, index, value), codegen


@intrinsic
def load_u64(typingctx, data, index):
    """The 8 bytes ``data[index:index + 8]`` of a C-contiguous 1-D uint8 array as one uint64 in
    the machine's byte order (little-endian on x86-64 and AArch64), by one unaligned load. The
    caller guarantees ``index + 8 <= len(data)``: nothing is checked."""
    if not (isinstance(data, types.Array) and data.ndim == 1 and data.dtype == types.uint8
            and data.layout == "C" and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        idx = context.cast(builder, args[1], signature.args[1], types.intp)
        word = builder.bitcast(builder.gep(arr.data, [idx]), ir.IntType(64).as_pointer())
        return builder.load(word, align=1)
    return types.uint64(data, index), codegen


@intrinsic
def trailing_zeros(typingctx, x):
    """The number of trailing zero bits of a nonzero uint64 (undefined for 0)."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i64, [i64, ir.IntType(1)]),
                                            "llvm.cttz.i64")
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 1)])
    return types.uint64(x), codegen


@intrinsic
def compare_exchange(typingctx, counter, index, expected, new):
    """Atomically: if ``counter[index]`` (a 1-D int64 array) holds ``expected``, store ``new``
    there. True when this call stored it; no other thread can have claimed the same value."""
    if not _is_counter(counter, index):
        return None

    def codegen(context, builder, signature, args):
        ptr = _int64_slot(context, builder, signature, args)
        old = context.cast(builder, args[2], signature.args[2], types.int64)
        new_value = context.cast(builder, args[3], signature.args[3], types.int64)
        pair = builder.cmpxchg(ptr, old, new_value, "seq_cst", "seq_cst")
        return builder.extract_value(pair, 1)
    return types.boolean(counter, index, expected, new), codegen


@intrinsic
def load_acquire(typingctx, counter, index):
    """``counter[index]`` (a 1-D int64 array), read so that whatever the thread that stored it
    wrote before its ``store_release`` is visible after this read."""
    if not _is_counter(counter, index):
        return None

    def codegen(context, builder, signature, args):
        return builder.load_atomic(_int64_slot(context, builder, signature, args), "acquire", 8)
    return types.int64(counter, index), codegen


@intrinsic
def store_release(typingctx, counter, index, value):
    """Store ``value`` in ``counter[index]`` (a 1-D int64 array) after every write this thread
    made before it (see ``load_acquire``)."""
    if not _is_counter(counter, index):
        return None

    def codegen(context, builder, signature, args):
        value_ = context.cast(builder, args[2], signature.args[2], types.int64)
        builder.store_atomic(value_, _int64_slot(context, builder, signature, args), "release", 8)
        return context.get_dummy_value()
    return types.void(counter, index, value), codegen


@intrinsic
def wait_a_moment(typingctx, rounds):
    """Round ``rounds`` of a wait on another thread: the CPU's spin-wait hint (x86 ``pause``)
    and, from round 1,024 on, every 64th round, ``sched_yield`` (POSIX), so that a thread whose
    partner waits for the same core gives it up instead of spinning through its time slice."""
    if not isinstance(rounds, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        if _X86:
            pause = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                   "llvm.x86.sse2.pause")
            builder.call(pause, [])
        if _POSIX:
            n = context.cast(builder, args[0], signature.args[0], types.int64)
            i64 = ir.IntType(64)
            late = builder.and_(builder.icmp_signed(">=", n, ir.Constant(i64, 1024)),
                                builder.icmp_signed("==", builder.and_(n, ir.Constant(i64, 63)), ir.Constant(i64, 0)))
            with builder.if_then(late, likely=False):
                fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield")
                builder.call(fn, [])
        return context.get_dummy_value()
    return types.void(rounds), codegen
