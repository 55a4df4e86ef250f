using Microsoft.Extensions.Logging.Abstractions;
using Protocols.Fuse.Kernel;

namespace Protocols.Fuse.Tests.Kernel;

/// <summary>The raw protocol against the real kernel, with a file system that holds only its root directory.</summary>
public sealed class FuseChannelTests : IDisposable
{
    private static readonly DateTime RootMtime = new(2020, 2, 2, 2, 2, 2, DateTimeKind.Utc);
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("fuse-channel-");

    private string MountPoint => Path.Combine(_root.FullName, "mnt");

    public void Dispose()
    {
        FuseKernelMount.Unmount(MountPoint);
        _root.Delete(recursive: true);
    }

    [FuseFact]
    public async Task Init_is_negotiated_and_requests_reach_the_handler_on_cloned_descriptors()
    {
        FuseKernelMount.PrepareMountPoint(MountPoint);
        var master = FuseKernelMount.Mount(MountPoint, 1 << 20, allowOther: false, defaultPermissions: false, TimeSpan.FromSeconds(10));
        using var channel = new FuseChannel(master, 1 << 20, readers: 3, NullLogger.Instance);

        var info = await Task.Run(() => channel.Initialize(new FuseInitRequest()));
        Assert.True(info.Minor >= FuseConstants.MinimumMinorVersion);
        Assert.True(info.Has(FuseInitFlags.MaxPages));
        Assert.Equal(1u << 20, info.MaxWrite);

        var handler = new RootOnlyFileSystem();
        channel.Start(3, handler, null);

        var (mtime, exists) = await Task.Run(() => (Directory.GetLastWriteTimeUtc(MountPoint), File.Exists(Path.Combine(MountPoint, "absent"))));
        Assert.Equal(RootMtime, mtime);
        Assert.False(exists);
        Assert.Contains(FuseOpcode.GetAttr, handler.Seen);
        Assert.Contains(FuseOpcode.Lookup, handler.Seen);

        Assert.True(FuseKernelMount.Unmount(MountPoint));
        await channel.Completion.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [FuseFact]
    public async Task A_mount_whose_server_died_is_detected_and_cleared_for_reuse()
    {
        FuseKernelMount.PrepareMountPoint(MountPoint);
        var master = FuseKernelMount.Mount(MountPoint, 1 << 20, allowOther: false, defaultPermissions: false, TimeSpan.FromSeconds(10));
        using (var channel = new FuseChannel(master, 1 << 20, readers: 1, NullLogger.Instance))
            await Task.Run(() => channel.Initialize(new FuseInitRequest()));
        // Closing the only descriptor is what a crash does: the mount stays, every access fails with ENOTCONN.
        Assert.True(FuseKernelMount.IsMountPoint(MountPoint));

        Assert.True(FuseKernelMount.PrepareMountPoint(MountPoint));

        Assert.False(FuseKernelMount.IsMountPoint(MountPoint));
        Assert.True(Directory.Exists(MountPoint));
    }

    [FuseFact]
    public async Task Fusermount3_hands_over_a_connected_descriptor_and_unmounts_again()
    {
        Assert.True(Fusermount.Find() is not null, "fusermount3 (Debian package fuse3, installed by .ci/run) is missing");
        FuseKernelMount.PrepareMountPoint(MountPoint);
        var master = Fusermount.Mount(MountPoint, 1 << 20, allowOther: false, defaultPermissions: false, TimeSpan.FromSeconds(10));
        using var channel = new FuseChannel(master, 1 << 20, readers: 2, NullLogger.Instance);
        var info = await Task.Run(() => channel.Initialize(new FuseInitRequest()));
        Assert.True(info.Minor >= FuseConstants.MinimumMinorVersion);
        channel.Start(2, new RootOnlyFileSystem(), null);
        Assert.Equal(RootMtime, await Task.Run(() => Directory.GetLastWriteTimeUtc(MountPoint)));
        Assert.Contains(" fuse.appliance ", await File.ReadAllTextAsync("/proc/self/mountinfo"));

        Assert.Null(Fusermount.Unmount(MountPoint, lazy: false));
        Assert.False(FuseKernelMount.IsMountPoint(MountPoint));
        await channel.Completion.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [FuseFact]
    public void Fusermount3_failing_to_mount_is_reported_with_its_own_words()
    {
        Assert.True(Fusermount.Find() is not null, "fusermount3 (Debian package fuse3, installed by .ci/run) is missing");
        var missing = Path.Combine(_root.FullName, "no-such-dir");
        var e = Assert.Throws<FuseMountException>(() =>
            Fusermount.Mount(missing, 1 << 20, allowOther: false, defaultPermissions: false, TimeSpan.FromSeconds(10)));
        Assert.Contains("fusermount3", e.Message);
        Assert.Contains(missing, e.Message);
    }

    /// <summary>Answers GETATTR of the root and ENOENT to every lookup; everything else ENOSYS.</summary>
    private sealed class RootOnlyFileSystem : IFuseRequestHandler
    {
        public System.Collections.Concurrent.ConcurrentBag<FuseOpcode> Seen { get; } = [];

        public ValueTask HandleAsync(FuseRequest request)
        {
            Seen.Add(request.Opcode);
            switch (request.Opcode)
            {
                case FuseOpcode.GetAttr when request.NodeId == FuseConstants.RootId:
                    var seconds = (ulong)(RootMtime - DateTime.UnixEpoch).TotalSeconds;
                    request.Reply(new FuseAttrOut
                    {
                        Attr = new FuseAttr { Ino = 1, Mode = 0x41ED, Nlink = 2, Mtime = seconds, Atime = seconds, Ctime = seconds },
                    });
                    break;
                case FuseOpcode.Lookup:
                    request.Fail(2);
                    break;
                case FuseOpcode.Forget or FuseOpcode.BatchForget:
                    break;
                default:
                    request.Fail(38);
                    break;
            }
            return default;
        }
    }
}
