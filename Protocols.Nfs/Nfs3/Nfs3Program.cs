using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Fs.Core.Vfs;
using Protocols.Nfs.Mount;
using Protocols.Nfs.Rpc;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Nfs3;

/// <summary>What every NFSv3 procedure gets: the call, as whom it acts, and the export rules that apply.</summary>
/// <param name="FirstHandle">The handle the arguments start with, already decoded and checked (null when not valid).</param>
public readonly record struct Nfs3Context(RpcCall Call, ExportAccess Access, CancellationToken Ct, Nfs3Handle? FirstHandle = null)
{
    public Caller Caller => Access.Caller;

    public bool ReadOnly => Access.ReadOnly;

    /// <summary>The root of the export the call's handles belong to; handles it issues carry it too.</summary>
    public ulong ExportRoot => Access.Root;
}

/// <summary>
/// NFS version 3 (RFC 1813), program 100003: a table from procedure number to handler, one file per procedure or
/// small family (Nfs3Program.Read.cs, Nfs3Program.ReadDir.cs, ...), each mapping its procedure onto <see cref="FileSystem"/>.
/// </summary>
public sealed partial class Nfs3Program : IRpcProgram
{
    public const uint ProgramNumber = 100003;
    /// <summary>Largest READ or WRITE payload (FSINFO rtmax and wtmax).</summary>
    public const int MaxTransfer = 1 << 20;

    private delegate ValueTask Procedure(Nfs3Context ctx, XdrReader args, XdrWriter reply);

    private readonly FileSystem _fs;
    private readonly ExportTable _exports;
    private readonly Nfs3FileHandles _handles;
    private readonly OpenFileCache _files;
    private readonly ulong _fsid;
    /// <summary>What WRITE and COMMIT return: new on every start, so clients resend writes that were only UNSTABLE.</summary>
    private readonly byte[] _writeVerifier = RandomNumberGenerator.GetBytes(8);
    private readonly byte[] _cookieVerifier;
    private readonly Procedure[] _procedures;

    public Nfs3Program(FileSystem fs, ExportTable exports, Nfs3FileHandles handles, OpenFileCache files)
    {
        _fs = fs;
        _exports = exports;
        _handles = handles;
        _files = files;
        var volume = fs.Format.Uuid.ToByteArray(bigEndian: true);
        _fsid = BinaryPrimitives.ReadUInt64BigEndian(volume) ^ BinaryPrimitives.ReadUInt64BigEndian(volume.AsSpan(8));
        // Cookies are stable positions that stay valid while a directory changes, so the verifier never needs to change.
        _cookieVerifier = volume[..8];
        _procedures =
        [
            Null, GetAttr, SetAttr, Lookup, Access, ReadLink, Read, Write, Create, Mkdir, Symlink, Mknod,
            Remove, Rmdir, Rename, Link, ReadDir, ReadDirPlus, FsStat, FsInfo, PathConf, Commit,
        ];
    }

    public uint Program => ProgramNumber;

    public uint LowVersion => 3;

    public uint HighVersion => 3;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<RpcAcceptStatus> HandleAsync(RpcCall call, XdrWriter reply, CancellationToken ct)
    {
        if (call.Procedure >= _procedures.Length)
            return RpcAcceptStatus.ProcUnavail;
        if (call.Procedure == 0)
            return RpcAcceptStatus.Success;
        // Every procedure but NULL starts with a handle; its export decides the rules for the whole call.
        var first = PeekFirstHandle(call.Args);
        var access = await _exports.AuthorizeAsync(call.Remote, call.Credentials, first?.ExportRoot, ct).ConfigureAwait(false)
            ?? throw new RpcAuthException(AuthStatus.TooWeak);
        using var door = FileSystem.EnterDoor(this);
        await _procedures[call.Procedure](new Nfs3Context(call, access, ct, first), new XdrReader(call.Args), reply).ConfigureAwait(false);
        return RpcAcceptStatus.Success;
    }

    private ValueTask Null(Nfs3Context ctx, XdrReader args, XdrWriter reply) => ValueTask.CompletedTask;

    /// <summary>
    /// Reads an nfs_fh3; 0 when it is not a valid handle of this volume or belongs to another export than the call's
    /// first handle (the caller answers BADHANDLE).
    /// </summary>
    private ulong ReadHandle(in Nfs3Context ctx, ref XdrReader args)
    {
        // The first handle was decoded (its MAC checked) before the call was authorized; it is not checked twice.
        var atStart = args.Position == 0;
        var fh = args.ReadOpaque(Nfs3FileHandles.MaxSize);
        Nfs3Handle handle;
        if (atStart && ctx.FirstHandle is { } first)
            handle = first;
        else if (!_handles.TryDecode(fh.Span, out handle))
            return 0;
        return handle.ExportRoot == ctx.ExportRoot ? handle.Ino : 0;
    }

    /// <summary>The handle arguments start with; null when they do not start with a valid one.</summary>
    private Nfs3Handle? PeekFirstHandle(ReadOnlyMemory<byte> args)
    {
        var reader = new XdrReader(args);
        try
        {
            return _handles.TryDecode(reader.ReadOpaque(Nfs3FileHandles.MaxSize).Span, out Nfs3Handle handle) ? handle : null;
        }
        catch (XdrException)
        {
            // Truncated arguments: the procedure's own decoding answers GARBAGE_ARGS.
            return null;
        }
    }

    /// <summary>Writes the handle of <paramref name="ino"/> in the call's export.</summary>
    private void WriteHandle(in Nfs3Context ctx, XdrWriter reply, ulong ino) => _handles.Write(reply, ino, ctx.ExportRoot);

    /// <summary>Reads a filename3. Over-long names are read whole (they are valid XDR) and reported as null.</summary>
    private static string? ReadName(ref XdrReader args)
    {
        var name = args.ReadString(4096);
        return System.Text.Encoding.UTF8.GetByteCount(name) > FsLimits.MaxNameBytes ? null : name;
    }

    /// <summary>A name a client may create or remove: not empty, not "." or "..", no slash or NUL.</summary>
    private static Nfs3Status CheckName(string? name) => name switch
    {
        null => Nfs3Status.NameTooLong,
        "" or "." or ".." => Nfs3Status.Inval,
        _ when name.AsSpan().IndexOfAny('/', '\0') >= 0 => Nfs3Status.Inval,
        _ => Nfs3Status.Ok,
    };

    /// <summary>A missing inode behind a handle the client holds is STALE, not NOENT.</summary>
    private static Nfs3Status HandleStatus(Errno errno) => errno == Errno.ENOENT ? Nfs3Status.Stale : Nfs3Errors.FromErrno(errno);

    private static void WriteStatus(XdrWriter reply, Nfs3Status status) => reply.WriteUInt32((uint)status);

    private async ValueTask<InodeAttr?> TryGetAttrAsync(ulong ino, CancellationToken ct)
    {
        var attr = await _fs.GetAttrAsync(ino, ct).ConfigureAwait(false);
        return attr.Ok ? attr.Value : null;
    }

    private void WritePostOp(XdrWriter reply, InodeAttr? attr) => Nfs3Attributes.WritePostOp(reply, attr, _fsid);

    private void WriteWcc(XdrWriter reply, InodeAttr? before, InodeAttr? after) => Nfs3Attributes.WriteWcc(reply, before, after, _fsid);

    /// <summary>
    /// Whether the caller may read or write a file's data. As in knfsd the owner may always (a file created 0444 must
    /// still take the writes that fill it), and read access also follows from execute (the client loads executables).
    /// </summary>
    private async ValueTask<Errno> CheckDataAccessAsync(Nfs3Context ctx, InodeAttr attr, bool write)
    {
        if (write && ctx.ReadOnly)
            return Errno.EROFS;
        if (ctx.Caller.Uid == attr.Uid)
            return Errno.OK;
        var result = await _fs.AccessAsync(ctx.Caller, attr.Ino, write ? AccessMode.Write : AccessMode.Read, ctx.Ct).ConfigureAwait(false);
        if (result == Errno.EACCES && !write)
            result = await _fs.AccessAsync(ctx.Caller, attr.Ino, AccessMode.Execute, ctx.Ct).ConfigureAwait(false);
        return result;
    }
}
