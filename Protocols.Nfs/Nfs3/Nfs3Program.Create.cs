using Fs.Core.Vfs;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nfs3;

public sealed partial class Nfs3Program
{
    private const uint CreateUnchecked = 0;
    private const uint CreateGuarded = 1;
    private const uint CreateExclusive = 2;

    /// <summary>
    /// CREATE (procedure 8). EXCLUSIVE keeps the client's verifier in the new file's atime and mtime (as Linux knfsd
    /// does), so a retransmitted create with the same verifier finds its own file and succeeds; the client then sets
    /// the real times with SETATTR.
    /// </summary>
    private async ValueTask Create(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var dir = ReadHandle(ctx, ref args);
        var name = ReadName(ref args);
        var how = args.ReadUInt32();
        var attrs = default(SetAttrRequest);
        ReadOnlyMemory<byte> verifier = default;
        switch (how)
        {
            case CreateUnchecked:
            case CreateGuarded:
                attrs = Nfs3Attributes.ReadSattr(ref args);
                break;
            case CreateExclusive:
                verifier = args.ReadFixedOpaque(8);
                break;
            default:
                throw new XdrException($"createmode3 {how}");
        }
        var (status, dirBefore) = await PrepareCreateAsync(ctx, dir, name).ConfigureAwait(false);
        if (status != Nfs3Status.Ok)
        {
            WriteCreateFailure(reply, status, dirBefore);
            return;
        }
        var mode = (attrs.Mask & SetAttrMask.Mode) != 0 ? attrs.Mode : 0x1A4;
        var created = await _fs.MknodAsync(ctx.Caller, dir, name!, FileType.Regular, mode, 0, ctx.Ct).ConfigureAwait(false);
        if (how == CreateExclusive)
        {
            var (atime, mtime) = VerifierTimes(verifier.Span);
            if (created.Ok)
            {
                created = await _fs.SetAttrAsync(ctx.Caller, created.Value.Ino,
                    new SetAttrRequest(SetAttrMask.Atime | SetAttrMask.Mtime, Atime: atime, Mtime: mtime), ctx.Ct).ConfigureAwait(false);
            }
            else if (created.Error == Errno.EEXIST)
            {
                var existing = await _fs.LookupAsync(ctx.Caller, dir, name!, ctx.Ct).ConfigureAwait(false);
                if (existing.Ok && existing.Value.Type == FileType.Regular && existing.Value.Atime == atime && existing.Value.Mtime == mtime)
                    created = existing;
            }
        }
        else if (!created.Ok && created.Error == Errno.EEXIST && how == CreateUnchecked)
        {
            created = await _fs.LookupAsync(ctx.Caller, dir, name!, ctx.Ct).ConfigureAwait(false);
            if (created.Ok && created.Value.Type == FileType.Directory)
                created = Errno.EISDIR;
            else if (created.Ok)
                created = await ApplyAttrsAsync(ctx, created.Value, attrs with { Mask = attrs.Mask & ~SetAttrMask.Mode }).ConfigureAwait(false);
        }
        else if (created.Ok)
        {
            created = await ApplyAttrsAsync(ctx, created.Value, attrs with { Mask = attrs.Mask & ~SetAttrMask.Mode }).ConfigureAwait(false);
        }
        await WriteCreatedAsync(ctx, reply, created, dir, dirBefore!).ConfigureAwait(false);
    }

    /// <summary>MKDIR (procedure 9).</summary>
    private async ValueTask Mkdir(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var dir = ReadHandle(ctx, ref args);
        var name = ReadName(ref args);
        var attrs = Nfs3Attributes.ReadSattr(ref args);
        var (status, dirBefore) = await PrepareCreateAsync(ctx, dir, name).ConfigureAwait(false);
        if (status != Nfs3Status.Ok)
        {
            WriteCreateFailure(reply, status, dirBefore);
            return;
        }
        var mode = (attrs.Mask & SetAttrMask.Mode) != 0 ? attrs.Mode : 0x1ED;
        var created = await _fs.MkdirAsync(ctx.Caller, dir, name!, mode, ctx.Ct).ConfigureAwait(false);
        if (created.Ok)
            created = await ApplyAttrsAsync(ctx, created.Value, attrs with { Mask = attrs.Mask & ~SetAttrMask.Mode }).ConfigureAwait(false);
        await WriteCreatedAsync(ctx, reply, created, dir, dirBefore!).ConfigureAwait(false);
    }

    /// <summary>SYMLINK (procedure 10).</summary>
    private async ValueTask Symlink(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var dir = ReadHandle(ctx, ref args);
        var name = ReadName(ref args);
        var attrs = Nfs3Attributes.ReadSattr(ref args);
        var target = args.ReadString(FsLimits.MaxSymlinkBytes);
        var (status, dirBefore) = await PrepareCreateAsync(ctx, dir, name).ConfigureAwait(false);
        if (status == Nfs3Status.Ok && target.Length == 0)
            status = Nfs3Status.Inval;
        if (status != Nfs3Status.Ok)
        {
            WriteCreateFailure(reply, status, dirBefore);
            return;
        }
        var created = await _fs.SymlinkAsync(ctx.Caller, dir, name!, target, ctx.Ct).ConfigureAwait(false);
        // A symlink's mode means nothing; owner and times are what a client (tar, rsync) may set.
        if (created.Ok)
            created = await ApplyAttrsAsync(ctx, created.Value, attrs with { Mask = attrs.Mask & ~(SetAttrMask.Mode | SetAttrMask.Size) }).ConfigureAwait(false);
        await WriteCreatedAsync(ctx, reply, created, dir, dirBefore!).ConfigureAwait(false);
    }

    /// <summary>MKNOD (procedure 11): devices, sockets and FIFOs.</summary>
    private async ValueTask Mknod(Nfs3Context ctx, XdrReader args, XdrWriter reply)
    {
        var dir = ReadHandle(ctx, ref args);
        var name = ReadName(ref args);
        var nfsType = (Nfs3FileType)args.ReadUInt32();
        var attrs = default(SetAttrRequest);
        uint rdev = 0;
        FileType? type = nfsType switch
        {
            Nfs3FileType.Chr => FileType.CharDevice,
            Nfs3FileType.Blk => FileType.BlockDevice,
            Nfs3FileType.Sock => FileType.Socket,
            Nfs3FileType.Fifo => FileType.Fifo,
            _ => null,
        };
        if (type is not null)
        {
            attrs = Nfs3Attributes.ReadSattr(ref args);
            if (type is FileType.CharDevice or FileType.BlockDevice)
            {
                var major = args.ReadUInt32();
                var minor = args.ReadUInt32();
                rdev = (minor & 0xFF) | ((major & 0xFFF) << 8) | ((minor & ~0xFFu) << 12);
            }
        }
        var (status, dirBefore) = await PrepareCreateAsync(ctx, dir, name).ConfigureAwait(false);
        if (status == Nfs3Status.Ok && type is null)
            status = Nfs3Status.BadType;
        if (status != Nfs3Status.Ok)
        {
            WriteCreateFailure(reply, status, dirBefore);
            return;
        }
        var mode = (attrs.Mask & SetAttrMask.Mode) != 0 ? attrs.Mode : 0x1A4;
        var created = await _fs.MknodAsync(ctx.Caller, dir, name!, type!.Value, mode, rdev, ctx.Ct).ConfigureAwait(false);
        if (created.Ok)
            created = await ApplyAttrsAsync(ctx, created.Value, attrs with { Mask = attrs.Mask & ~(SetAttrMask.Mode | SetAttrMask.Size) }).ConfigureAwait(false);
        await WriteCreatedAsync(ctx, reply, created, dir, dirBefore!).ConfigureAwait(false);
    }

    /// <summary>The checks every create shares: a valid directory handle, a valid name, a writable export.</summary>
    private async ValueTask<(Nfs3Status Status, InodeAttr? DirBefore)> PrepareCreateAsync(Nfs3Context ctx, ulong dir, string? name)
    {
        if (dir == 0)
            return (Nfs3Status.BadHandle, null);
        var before = await _fs.GetAttrAsync(dir, ctx.Ct).ConfigureAwait(false);
        if (!before.Ok)
            return (HandleStatus(before.Error), null);
        if (before.Value.Type != FileType.Directory)
            return (Nfs3Status.NotDir, before.Value);
        if (ctx.ReadOnly)
            return (Nfs3Status.RoFs, before.Value);
        return (CheckName(name), before.Value);
    }

    private void WriteCreateFailure(XdrWriter reply, Nfs3Status status, InodeAttr? dirBefore)
    {
        WriteStatus(reply, status);
        WriteWcc(reply, dirBefore, dirBefore);
    }

    /// <summary>Sets what the client asked for beyond the mode given at creation (owner, size, times).</summary>
    private async ValueTask<Result<InodeAttr>> ApplyAttrsAsync(Nfs3Context ctx, InodeAttr created, SetAttrRequest attrs)
    {
        if (attrs.Mask == SetAttrMask.None)
            return created;
        var set = await _fs.SetAttrAsync(ctx.Caller, created.Ino, attrs, ctx.Ct).ConfigureAwait(false);
        // The object exists either way; a refused chown must not make the client believe the create failed.
        return set.Ok ? set.Value : created;
    }

    /// <summary>The CREATE/MKDIR/SYMLINK/MKNOD result: the new handle and attributes, and the directory's wcc_data.</summary>
    private async ValueTask WriteCreatedAsync(Nfs3Context ctx, XdrWriter reply, Result<InodeAttr> created, ulong dir, InodeAttr dirBefore)
    {
        var dirAfter = await TryGetAttrAsync(dir, ctx.Ct).ConfigureAwait(false);
        if (!created.Ok)
        {
            WriteStatus(reply, Nfs3Errors.FromErrno(created.Error));
            WriteWcc(reply, dirBefore, dirAfter);
            return;
        }
        WriteStatus(reply, Nfs3Status.Ok);
        reply.WriteBool(true);
        WriteHandle(ctx, reply, created.Value.Ino);
        WritePostOp(reply, created.Value);
        WriteWcc(reply, dirBefore, dirAfter);
    }

    /// <summary>The two 32-bit halves of an exclusive-create verifier as whole-second atime and mtime.</summary>
    private static (long Atime, long Mtime) VerifierTimes(ReadOnlySpan<byte> verifier) =>
        (System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(verifier) * 1_000_000_000L,
         System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(verifier[4..]) * 1_000_000_000L);
}
