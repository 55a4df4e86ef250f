using System.Runtime.CompilerServices;
using Fs.Core.Vfs;
using Protocols.Nfs.Rpc;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nfs3;

public sealed partial class Nfs3Program
{
    /// <summary>READ (procedure 6): over TCP the data is sent from the block cache as it lies; over UDP it is read into the reply.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask Read(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var ino = ReadHandle(ctx, ref args);
        var offset = args.ReadUInt64();
        var count = (int)Math.Min(args.ReadUInt32(), MaxTransfer);
        if (ino == 0)
        {
            WriteStatus(reply, Nfs3Status.BadHandle);
            WritePostOp(reply, null);
            return;
        }
        var attr = await _fs.GetAttrAsync(ino, ctx.Ct).ConfigureAwait(false);
        if (!attr.Ok)
        {
            WriteStatus(reply, HandleStatus(attr.Error));
            WritePostOp(reply, null);
            return;
        }
        var file = attr.Value;
        var status = file.Type switch
        {
            FileType.Regular => Nfs3Errors.FromErrno(await CheckDataAccessAsync(ctx, file, write: false).ConfigureAwait(false)),
            FileType.Directory => Nfs3Status.IsDir,
            _ => Nfs3Status.Inval,
        };
        if (status == Nfs3Status.Ok && offset > long.MaxValue)
            status = Nfs3Status.Inval;
        if (status != Nfs3Status.Ok)
        {
            WriteStatus(reply, status);
            WritePostOp(reply, file);
            return;
        }
        var lease = await _files.AcquireAsync(ino, write: false, ctx.Ct).ConfigureAwait(false);
        if (!lease.Ok)
        {
            WriteStatus(reply, HandleStatus(lease.Error));
            WritePostOp(reply, file);
            return;
        }
        using (lease.Value)
        {
            if (ctx.Call.Transport == RpcTransport.Tcp)
                await ReadIntoTail(lease.Value.Handle, offset, count, file, reply, ctx.Ct).ConfigureAwait(false);
            else
                await ReadIntoReply(lease.Value.Handle, offset, count, file, reply, ctx.Ct).ConfigureAwait(false);
        }
    }

    /// <summary>The data ends the reply as a view of the block cache, which the TCP transport sends without copying it.</summary>
    private async ValueTask ReadIntoTail(FileHandle handle, ulong offset, int count, InodeAttr file, XdrWriter reply, CancellationToken ct)
    {
        var read = await _fs.ReadViewAsync(handle, (long)offset, count, ct).ConfigureAwait(false);
        if (!read.Ok)
        {
            WriteStatus(reply, Nfs3Errors.FromErrno(read.Error));
            WritePostOp(reply, file);
            return;
        }
        var view = read.Value;
        var n = view.Length;
        WriteStatus(reply, Nfs3Status.Ok);
        // Reads do not change what the client caches, so the attributes fetched before the read serve as post-op attributes.
        WritePostOp(reply, file);
        reply.WriteUInt32((uint)n);
        reply.WriteBool((long)offset + n >= file.Size);
        reply.WriteUInt32((uint)n);
        reply.AppendTail(view);
    }

    /// <summary>The data is read straight into the reply buffer (a UDP reply is one datagram).</summary>
    private async ValueTask ReadIntoReply(FileHandle handle, ulong offset, int count, InodeAttr file, XdrWriter reply, CancellationToken ct)
    {
        var start = reply.Position;
        WriteStatus(reply, Nfs3Status.Ok);
        WritePostOp(reply, file);
        var countAt = reply.Position;
        reply.WriteUInt32(0);
        reply.WriteBool(false);
        reply.WriteUInt32(0);
        var dataAt = reply.Position;
        var buffer = reply.ReserveMemory(count);
        var read = await _fs.ReadAsync(handle, (long)offset, buffer, ct).ConfigureAwait(false);
        if (!read.Ok)
        {
            reply.Position = start;
            WriteStatus(reply, Nfs3Errors.FromErrno(read.Error));
            WritePostOp(reply, file);
            return;
        }
        var n = read.Value;
        reply.Position = dataAt + n;
        reply.Pad(n);
        reply.PatchUInt32(countAt, (uint)n);
        reply.PatchUInt32(countAt + 4, (long)offset + n >= file.Size ? 1u : 0u);
        reply.PatchUInt32(countAt + 8, (uint)n);
    }
}
