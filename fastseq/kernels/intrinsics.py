"""LLVM operations numba does not expose to kernels: a software prefetch (for loops that know
their next memory reads before they need them), an atomic fetch-and-add (for threads that
share out work through a ticket), and for byte scanning eight bytes at a time, an unaligned
8-byte load and a count of trailing zero bits."""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


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


@intrinsic
def fetch_add(typingctx, counter, index, value):
    """Atomically add ``value`` to ``counter[index]`` (a 1-D int64 array) and return the value
    it held before: a lock-free ticket for threads that share out work."""
    if not (isinstance(counter, types.Array) and counter.ndim == 1 and counter.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        idx = context.cast(builder, args[1], signature.args[1], types.intp)
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], arr, [idx], wraparound=False)
        add = context.cast(builder, args[2], signature.args[2], types.int64)
        return builder.atomic_rmw("add", ptr, add, "seq_cst")
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
