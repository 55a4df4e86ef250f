using System.Net;
using Fs.Core.Vfs;
using Protocols.Nfs.Mount;
using Protocols.Nfs.Nfs3;
using Protocols.Nfs.Rpc;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Tests;

/// <summary>
/// A fresh volume (SQLite metadata, local object directory) served by a real <see cref="NfsServer"/> on a free loopback
/// port, for every test; plus typed helpers that speak NFSv3 and MOUNT through <see cref="RpcTestClient"/>.
/// </summary>
public abstract class NfsServerTest : IAsyncLifetime
{
    public const uint Nfs = Nfs3Program.ProgramNumber;
    public const uint MountProg = MountProgram.ProgramNumber;

    private readonly List<RpcTestClient> _clients = [];

    protected string TempDir { get; } = Path.Combine(Path.GetTempPath(), "appliance-nfs-" + Guid.NewGuid().ToString("N"));

    protected FileSystem Fs { get; private set; } = null!;

    protected NfsServer Server { get; private set; } = null!;

    protected virtual IReadOnlyList<NfsExport> Exports => [new NfsExport()];

    /// <summary>The quota the volume is formatted with; 0 is unlimited.</summary>
    protected virtual long CapacityBytes => 0;

    protected virtual NfsServerOptions ServerOptions => new()
    {
        EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
        Portmap = false,
        Exports = Exports,
        GracePeriod = TimeSpan.Zero,
    };

    public virtual async Task InitializeAsync()
    {
        Directory.CreateDirectory(TempDir);
        Fs = await OpenVolumeAsync(TempDir, CapacityBytes);
        Server = new NfsServer(Fs, ServerOptions);
        await Server.StartAsync();
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var c in _clients)
            await c.DisposeAsync();
        await Server.DisposeAsync();
        await Fs.DisposeAsync();
        Directory.Delete(TempDir, recursive: true);
    }

    public static async Task<FileSystem> OpenVolumeAsync(string dir, long capacityBytes = 0)
    {
        var metaUrl = $"sqlite:///{dir.TrimStart('/')}/meta.db";
        var storageUrl = $"file:///{dir.TrimStart('/')}/objects";
        if (!File.Exists(Path.Combine(dir, "meta.db")))
            await FileSystem.FormatAsync(new FormatOptions { Name = "nfs-test", MetaUrl = metaUrl, StorageUrl = storageUrl, CapacityBytes = capacityBytes });
        return await FileSystem.OpenAsync(new FileSystemOptions
        {
            MetaUrl = metaUrl,
            StorageUrl = storageUrl,
            MemoryCacheBytes = 64L << 20,
            WriteBufferBytes = 64L << 20,
        });
    }

    /// <summary>Stops the server and the volume and opens both again on the same ports, as an appliance restart does.</summary>
    protected async Task RestartAsync()
    {
        var port = Server.Port;
        await Server.DisposeAsync();
        await Fs.DisposeAsync();
        Fs = await OpenVolumeAsync(TempDir);
        Server = new NfsServer(Fs, ServerOptions with { EndPoint = new IPEndPoint(IPAddress.Loopback, port) });
        await Server.StartAsync();
    }

    protected async Task<RpcTestClient> ConnectAsync(uint uid = 0, uint gid = 0)
    {
        var client = await RpcTestClient.ConnectAsync(Server.Port);
        client.Uid = uid;
        client.Gid = gid;
        _clients.Add(client);
        return client;
    }

    protected static async Task<byte[]> MountAsync(RpcTestClient client, string path = "/")
    {
        var reply = await client.CallAsync(MountProg, 3, 1, w => w.WriteString(path));
        Assert.Equal(RpcAcceptStatus.Success, reply.AcceptStatus);
        var r = reply.Reader();
        Assert.Equal(0u, r.ReadUInt32());
        return r.ReadOpaque(64).ToArray();
    }

    /// <summary>Calls an NFSv3 procedure and returns the reader positioned after the nfsstat3, and that status.</summary>
    protected static async Task<(Nfs3Status Status, XdrReader Body)> NfsAsync(RpcTestClient client, uint procedure, Action<XdrWriter> args)
    {
        var reply = await client.CallAsync(Nfs, 3, procedure, args);
        Assert.Equal(RpcAcceptStatus.Success, reply.AcceptStatus);
        var r = reply.Reader();
        return ((Nfs3Status)r.ReadUInt32(), r);
    }

    protected static async Task<(Nfs3Status Status, byte[] Handle)> LookupAsync(RpcTestClient client, byte[] dir, string name)
    {
        var (status, r) = await NfsAsync(client, 3, w => { w.WriteOpaque(dir); w.WriteString(name); });
        return (status, status == Nfs3Status.Ok ? r.ReadOpaque(64).ToArray() : []);
    }

    /// <summary>CREATE UNCHECKED with a mode; returns the new handle.</summary>
    protected static async Task<(Nfs3Status Status, byte[] Handle)> CreateAsync(RpcTestClient client, byte[] dir, string name, uint mode = 0x1A4, uint how = 0, byte[]? verifier = null)
    {
        var (status, r) = await NfsAsync(client, 8, w =>
        {
            w.WriteOpaque(dir);
            w.WriteString(name);
            w.WriteUInt32(how);
            if (how == 2)
            {
                w.WriteFixedOpaque(verifier!);
                return;
            }
            WriteSattr(w, mode: mode);
        });
        if (status != Nfs3Status.Ok)
            return (status, []);
        Assert.True(r.ReadBool());
        return (status, r.ReadOpaque(64).ToArray());
    }

    protected static async Task<(Nfs3Status Status, byte[] Handle)> MkdirAsync(RpcTestClient client, byte[] dir, string name, uint mode = 0x1ED)
    {
        var (status, r) = await NfsAsync(client, 9, w => { w.WriteOpaque(dir); w.WriteString(name); WriteSattr(w, mode: mode); });
        if (status != Nfs3Status.Ok)
            return (status, []);
        Assert.True(r.ReadBool());
        return (status, r.ReadOpaque(64).ToArray());
    }

    /// <summary>WRITE; returns status, count, committed and the verifier.</summary>
    protected static async Task<(Nfs3Status Status, uint Count, uint Committed, byte[] Verifier)> WriteAsync(RpcTestClient client, byte[] fh, long offset, byte[] data, uint stable)
    {
        var (status, r) = await NfsAsync(client, 7, w =>
        {
            w.WriteOpaque(fh);
            w.WriteUInt64((ulong)offset);
            w.WriteUInt32((uint)data.Length);
            w.WriteUInt32(stable);
            w.WriteOpaque(data);
        });
        SkipWcc(ref r);
        if (status != Nfs3Status.Ok)
            return (status, 0, 0, []);
        return (status, r.ReadUInt32(), r.ReadUInt32(), r.ReadFixedOpaque(8).ToArray());
    }

    protected static async Task<(Nfs3Status Status, byte[] Data, bool Eof)> ReadAsync(RpcTestClient client, byte[] fh, long offset, uint count)
    {
        var (status, r) = await NfsAsync(client, 6, w => { w.WriteOpaque(fh); w.WriteUInt64((ulong)offset); w.WriteUInt32(count); });
        SkipPostOp(ref r);
        if (status != Nfs3Status.Ok)
            return (status, [], false);
        var n = r.ReadUInt32();
        var eof = r.ReadBool();
        var data = r.ReadOpaque((int)count).ToArray();
        Assert.Equal(n, (uint)data.Length);
        return (status, data, eof);
    }

    /// <summary>GETATTR; returns the status and, when OK, (type, mode, uid, gid, size, fileid, atime, mtime, ctime).</summary>
    protected static async Task<(Nfs3Status Status, Fattr Attr)> GetAttrAsync(RpcTestClient client, byte[] fh)
    {
        var (status, r) = await NfsAsync(client, 1, w => w.WriteOpaque(fh));
        return (status, status == Nfs3Status.Ok ? Fattr.Read(ref r) : default);
    }

    public static void WriteSattr(XdrWriter w, uint? mode = null, uint? uid = null, uint? gid = null, ulong? size = null)
    {
        w.WriteBool(mode.HasValue);
        if (mode.HasValue) w.WriteUInt32(mode.Value);
        w.WriteBool(uid.HasValue);
        if (uid.HasValue) w.WriteUInt32(uid.Value);
        w.WriteBool(gid.HasValue);
        if (gid.HasValue) w.WriteUInt32(gid.Value);
        w.WriteBool(size.HasValue);
        if (size.HasValue) w.WriteUInt64(size.Value);
        w.WriteUInt32(0);
        w.WriteUInt32(0);
    }

    public static void SkipPostOp(ref XdrReader r)
    {
        if (r.ReadBool())
            Fattr.Read(ref r);
    }

    public static void SkipWcc(ref XdrReader r)
    {
        if (r.ReadBool())
            r.Skip(24);
        SkipPostOp(ref r);
    }

    /// <summary>The fattr3 fields the tests look at.</summary>
    public readonly record struct Fattr(uint Type, uint Mode, uint Nlink, uint Uid, uint Gid, ulong Size, ulong FileId, long Atime, long Mtime, long Ctime)
    {
        public static Fattr Read(ref XdrReader r)
        {
            var type = r.ReadUInt32();
            var mode = r.ReadUInt32();
            var nlink = r.ReadUInt32();
            var uid = r.ReadUInt32();
            var gid = r.ReadUInt32();
            var size = r.ReadUInt64();
            r.ReadUInt64();
            r.Skip(8 + 8);
            var fileid = r.ReadUInt64();
            var atime = (long)r.ReadUInt32() * 1_000_000_000 + r.ReadUInt32();
            var mtime = (long)r.ReadUInt32() * 1_000_000_000 + r.ReadUInt32();
            var ctime = (long)r.ReadUInt32() * 1_000_000_000 + r.ReadUInt32();
            return new Fattr(type, mode, nlink, uid, gid, size, fileid, atime, mtime, ctime);
        }
    }
}
