using System.Net;
using Fs.Core.Vfs;
using Protocols.Nfs.Mount;
using Protocols.Nfs.Nfs3;
using Protocols.Nfs.Rpc;

namespace Protocols.Nfs.Tests.Mount;

public sealed class RootSquashExportTests : NfsServerTest
{
    protected override IReadOnlyList<NfsExport> Exports => [new NfsExport(Squash: NfsSquash.Root, AnonUid: 4242, AnonGid: 4343)];

    [Fact]
    public async Task Root_acts_as_the_anonymous_user_and_others_keep_their_ids()
    {
        var root = await ConnectAsync(uid: 0, gid: 0);
        var fh = await MountAsync(root);
        var (status, file) = await CreateAsync(root, fh, "by-root");
        Assert.Equal(Nfs3Status.Ok, status);
        var attr = (await GetAttrAsync(root, file)).Attr;
        Assert.Equal(4242u, attr.Uid);
        Assert.Equal(4343u, attr.Gid);

        var user = await ConnectAsync(uid: 1000, gid: 100);
        var (_, mine) = await CreateAsync(user, fh, "by-user");
        Assert.Equal(1000u, (await GetAttrAsync(user, mine)).Attr.Uid);
    }
}

public sealed class ReadOnlyExportTests : NfsServerTest
{
    protected override IReadOnlyList<NfsExport> Exports => [new NfsExport(ReadOnly: true)];

    [Fact]
    public async Task Every_change_is_refused_with_rofs_but_reads_work()
    {
        var ino = (await Fs.CreateAsync(Caller.Root, FsLimits.RootIno, "existing", 0x1A4, OpenFlags.ReadWrite)).Value;
        await Fs.WriteAsync(ino.Handle, 0, "abc"u8.ToArray());
        await Fs.ReleaseAsync(ino.Handle);

        var client = await ConnectAsync();
        var root = await MountAsync(client);
        Assert.Equal(Nfs3Status.RoFs, (await CreateAsync(client, root, "new")).Status);
        Assert.Equal(Nfs3Status.RoFs, (await MkdirAsync(client, root, "dir")).Status);
        var (_, fh) = await LookupAsync(client, root, "existing");
        Assert.Equal(Nfs3Status.RoFs, (await WriteAsync(client, fh, 0, [1], 2)).Status);
        var (removed, _) = await NfsAsync(client, 12, w => { w.WriteOpaque(root); w.WriteString("existing"); });
        Assert.Equal(Nfs3Status.RoFs, removed);
        Assert.Equal("abc"u8.ToArray(), (await ReadAsync(client, fh, 0, 10)).Data);
    }
}

public sealed class ClientFilterExportTests : NfsServerTest
{
    protected override IReadOnlyList<NfsExport> Exports => [new NfsExport(Clients: NfsExport.ParseClients("10.9.0.0/16"))];

    [Fact]
    public async Task A_client_outside_the_allowed_networks_cannot_mount_or_use_handles()
    {
        var client = await ConnectAsync();
        var mnt = (await client.CallAsync(MountProg, 3, 1, w => w.WriteString("/"))).Reader();
        Assert.Equal(13u, mnt.ReadUInt32());

        var handle = new byte[Nfs3FileHandles.Size];
        Server.Handles!.Encode(new Nfs3Handle(FsLimits.RootIno, FsLimits.RootIno), handle);
        var reply = await client.CallAsync(Nfs, 3, 1, w => w.WriteOpaque(handle));
        Assert.False(reply.Accepted);
        Assert.Equal((uint)AuthStatus.TooWeak, reply.Reader().ReadUInt32());
    }

    [Fact]
    public void Networks_and_single_addresses_parse()
    {
        var export = new NfsExport(Clients: NfsExport.ParseClients("10.0.0.0/8, 192.168.1.7"));
        Assert.True(export.Admits(IPAddress.Parse("10.1.2.3")));
        Assert.True(export.Admits(IPAddress.Parse("::ffff:192.168.1.7")));
        Assert.False(export.Admits(IPAddress.Parse("192.168.1.8")));
        Assert.True(new NfsExport(Clients: NfsExport.ParseClients("*")).Admits(IPAddress.Parse("8.8.8.8")));
    }
}

public sealed class SubdirectoryExportTests : NfsServerTest
{
    protected override IReadOnlyList<NfsExport> Exports => [new NfsExport("/projects/a")];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var projects = (await Fs.MkdirAsync(Caller.Root, FsLimits.RootIno, "projects", 0x1FF)).Value;
        await Fs.MkdirAsync(Caller.Root, projects.Ino, "a", 0x1FF);
    }

    [Fact]
    public async Task Mnt_of_the_export_returns_that_directory_and_other_paths_are_refused()
    {
        var client = await ConnectAsync();
        var fh = await MountAsync(client, "/projects/a/");
        var a = (await Fs.LookupAsync(Caller.Root, (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "projects")).Value.Ino, "a")).Value;
        Assert.Equal(a.Ino, (await GetAttrAsync(client, fh)).Attr.FileId);
        var other = (await client.CallAsync(MountProg, 3, 1, w => w.WriteString("/"))).Reader();
        Assert.Equal(2u, other.ReadUInt32());

        var export = (await client.CallAsync(MountProg, 3, 5)).Reader();
        Assert.True(export.ReadBool());
        Assert.Equal("/projects/a", export.ReadString(1024));
    }
}

public sealed class MountListTests : NfsServerTest
{
    [Fact]
    public async Task Dump_lists_a_mount_until_the_client_unmounts()
    {
        var client = await ConnectAsync();
        await MountAsync(client, "/");
        var dump = (await client.CallAsync(MountProg, 3, 2)).Reader();
        Assert.True(dump.ReadBool());
        Assert.Equal("127.0.0.1", dump.ReadString(255));
        Assert.Equal("/", dump.ReadString(1024));
        Assert.False(dump.ReadBool());

        await client.CallAsync(MountProg, 3, 3, w => w.WriteString("/"));
        Assert.False((await client.CallAsync(MountProg, 3, 2)).Reader().ReadBool());
    }
}

public sealed class ExportBoundaryTests : NfsServerTest
{
    // The volume root is exported only to a network the test client is not in; "/shared" to everyone.
    protected override IReadOnlyList<NfsExport> Exports =>
        [new NfsExport("/shared"), new NfsExport("/", Clients: NfsExport.ParseClients("10.9.0.0/16"))];

    private async Task<(RpcTestClient Client, byte[] Root, ulong RootId)> MountSharedAsync()
    {
        var shared = (await Fs.MkdirAsync(Caller.Root, FsLimits.RootIno, "shared", 0x1FF)).Value;
        await Fs.MkdirAsync(Caller.Root, FsLimits.RootIno, "private", 0x1C0);
        var client = await ConnectAsync();
        var root = await MountAsync(client, "/shared");
        return (client, root, shared.Ino);
    }

    [Fact]
    public async Task Dot_dot_of_the_export_root_is_the_export_root_itself()
    {
        var (client, root, rootId) = await MountSharedAsync();
        var (status, up) = await LookupAsync(client, root, "..");
        Assert.Equal(Nfs3Status.Ok, status);
        Assert.Equal(root, up);
        Assert.Equal(rootId, (await GetAttrAsync(client, up)).Attr.FileId);

        var (made, sub) = await MkdirAsync(client, root, "sub");
        Assert.Equal(Nfs3Status.Ok, made);
        var (_, back) = await LookupAsync(client, sub, "..");
        Assert.Equal(rootId, (await GetAttrAsync(client, back)).Attr.FileId);
        var (_, stillRoot) = await LookupAsync(client, back, "..");
        Assert.Equal(rootId, (await GetAttrAsync(client, stillRoot)).Attr.FileId);
        Assert.Equal(Nfs3Status.NoEnt, (await LookupAsync(client, stillRoot, "private")).Status);
    }

    [Fact]
    public async Task Readdirplus_of_the_export_root_lists_itself_as_dot_dot()
    {
        var (client, root, rootId) = await MountSharedAsync();
        var reply = await client.CallAsync(Nfs, 3, 17, w =>
        {
            w.WriteOpaque(root);
            w.WriteUInt64(0);
            w.WriteFixedOpaque(new byte[8]);
            w.WriteUInt32(4096);
            w.WriteUInt32(65536);
        });
        var r = reply.Reader();
        Assert.Equal(Nfs3Status.Ok, (Nfs3Status)r.ReadUInt32());
        SkipPostOp(ref r);
        r.ReadFixedOpaque(8);
        var dotDot = false;
        while (r.ReadBool())
        {
            var fileId = r.ReadUInt64();
            var name = r.ReadString(255);
            r.ReadUInt64();
            Assert.True(r.ReadBool());
            var attr = Fattr.Read(ref r);
            Assert.True(r.ReadBool());
            var handle = r.ReadOpaque(64).ToArray();
            if (name != "..")
                continue;
            dotDot = true;
            Assert.Equal(rootId, fileId);
            Assert.Equal(rootId, attr.FileId);
            Assert.Equal(root, handle);
        }
        Assert.True(dotDot);
    }

    [Fact]
    public async Task A_handle_of_an_export_the_client_is_not_admitted_to_is_refused()
    {
        var (client, _, _) = await MountSharedAsync();
        var volumeRoot = new byte[Nfs3FileHandles.Size];
        Server.Handles!.Encode(new Nfs3Handle(FsLimits.RootIno, FsLimits.RootIno), volumeRoot);
        var reply = await client.CallAsync(Nfs, 3, 1, w => w.WriteOpaque(volumeRoot));
        Assert.False(reply.Accepted);
        Assert.Equal((uint)AuthStatus.TooWeak, reply.Reader().ReadUInt32());
    }

    [Fact]
    public async Task A_handle_of_another_export_in_the_same_call_is_a_bad_handle()
    {
        var (client, root, _) = await MountSharedAsync();
        var (created, file) = await CreateAsync(client, root, "f");
        Assert.Equal(Nfs3Status.Ok, created);
        var volumeRoot = new byte[Nfs3FileHandles.Size];
        Server.Handles!.Encode(new Nfs3Handle(FsLimits.RootIno, FsLimits.RootIno), volumeRoot);
        // LINK(file, dir, name): the file from /shared, the directory a handle of the volume-root export.
        var (status, _) = await NfsAsync(client, 15, w => { w.WriteOpaque(file); w.WriteOpaque(volumeRoot); w.WriteString("x"); });
        Assert.Equal(Nfs3Status.BadHandle, status);
        Assert.Equal(Errno.ENOENT, (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "x")).Error);
    }
}
