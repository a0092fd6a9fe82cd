"""Two LLVM operations numba does not expose to kernels: a software prefetch (for loops that know
their next memory reads before they need them) and an atomic fetch-and-add (for threads that
share out work through a ticket)."""
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
