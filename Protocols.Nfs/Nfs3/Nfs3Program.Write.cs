using System.Runtime.CompilerServices;
using Fs.Core.Vfs;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nfs3;

public sealed partial class Nfs3Program
{
    private const uint Unstable = 0;
    private const uint DataSync = 1;
    private const uint FileSync = 2;

    /// <summary>
    /// WRITE (procedure 7). UNSTABLE data stays in the file's write buffer until COMMIT; DATA_SYNC and FILE_SYNC are
    /// answered only after fsync succeeded, so the server never claims a stability it did not reach.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask Write(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var ino = ReadHandle(ctx, ref args);
        var offset = args.ReadUInt64();
        args.ReadUInt32(); // count: the opaque data carries its own length, which is what is written
        var stable = args.ReadUInt32();
        if (stable > FileSync)
            throw new XdrException($"stable_how {stable}");
        var data = args.ReadOpaque(MaxTransfer);
        if (ino == 0)
        {
            WriteStatus(reply, Nfs3Status.BadHandle);
            WriteWcc(reply, null, null);
            return;
        }
        var before = await _fs.GetAttrAsync(ino, ctx.Ct).ConfigureAwait(false);
        if (!before.Ok)
        {
            WriteStatus(reply, HandleStatus(before.Error));
            WriteWcc(reply, null, null);
            return;
        }
        var file = before.Value;
        var status = file.Type switch
        {
            FileType.Regular => Nfs3Errors.FromErrno(await CheckDataAccessAsync(ctx, file, write: true).ConfigureAwait(false)),
            FileType.Directory => Nfs3Status.IsDir,
            _ => Nfs3Status.Inval,
        };
        if (status == Nfs3Status.Ok && offset + (ulong)data.Length > (ulong)FsLimits.MaxFileSize)
            status = Nfs3Status.FBig;
        if (status != Nfs3Status.Ok)
        {
            WriteStatus(reply, status);
            WriteWcc(reply, file, file);
            return;
        }
        var lease = await _files.AcquireAsync(ino, write: true, ctx.Ct).ConfigureAwait(false);
        if (!lease.Ok)
        {
            WriteStatus(reply, HandleStatus(lease.Error));
            WriteWcc(reply, file, file);
            return;
        }
        using (lease.Value)
        {
            var written = await _fs.WriteAsync(lease.Value.Handle, (long)offset, data, ctx.Ct).ConfigureAwait(false);
            var result = written.Error;
            if (result == Errno.OK && stable != Unstable)
                result = await _fs.FsyncAsync(lease.Value.Handle, dataOnly: stable == DataSync, ctx.Ct).ConfigureAwait(false);
            var after = await TryGetAttrAsync(ino, ctx.Ct).ConfigureAwait(false);
            WriteStatus(reply, Nfs3Errors.FromErrno(result));
            WriteWcc(reply, file, after);
            if (result != Errno.OK)
                return;
            reply.WriteUInt32((uint)written.Value);
            reply.WriteUInt32(stable);
            reply.WriteFixedOpaque(_writeVerifier);
        }
    }

    /// <summary>COMMIT (procedure 21): fsync of the file; the verifier tells the client whether its unstable writes survived.</summary>
    private async ValueTask Commit(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var ino = ReadHandle(ctx, ref args);
        args.ReadUInt64();
        args.ReadUInt32(); // offset and count: the whole file is committed, which RFC 1813 allows
        if (ino == 0)
        {
            WriteStatus(reply, Nfs3Status.BadHandle);
            WriteWcc(reply, null, null);
            return;
        }
        var before = await _fs.GetAttrAsync(ino, ctx.Ct).ConfigureAwait(false);
        if (!before.Ok)
        {
            WriteStatus(reply, HandleStatus(before.Error));
            WriteWcc(reply, null, null);
            return;
        }
        if (before.Value.Type != FileType.Regular)
        {
            WriteStatus(reply, before.Value.Type == FileType.Directory ? Nfs3Status.IsDir : Nfs3Status.Inval);
            WriteWcc(reply, before.Value, before.Value);
            return;
        }
        var lease = await _files.AcquireAsync(ino, write: false, ctx.Ct).ConfigureAwait(false);
        if (!lease.Ok)
        {
            WriteStatus(reply, HandleStatus(lease.Error));
            WriteWcc(reply, before.Value, before.Value);
            return;
        }
        Errno result;
        using (lease.Value)
            result = await _fs.FsyncAsync(lease.Value.Handle, dataOnly: false, ctx.Ct).ConfigureAwait(false);
        var after = await TryGetAttrAsync(ino, ctx.Ct).ConfigureAwait(false);
        WriteStatus(reply, Nfs3Errors.FromErrno(result));
        WriteWcc(reply, before.Value, after);
        if (result == Errno.OK)
            reply.WriteFixedOpaque(_writeVerifier);
    }
}
