using Fs.Core.Vfs;
using Microsoft.Extensions.Logging.Abstractions;
using Protocols.Fuse.Kernel;

namespace Protocols.Fuse.Tests.EndToEnd;

public sealed class FuseMountLifecycleTests(MountedVolume volume) : IClassFixture<MountedVolume>
{
    [FuseFact]
    public async Task A_mount_point_left_by_a_crashed_run_is_recovered_and_served_again()
    {
        var mountPoint = Path.Combine(volume.Scratch, "crashed");
        Directory.CreateDirectory(mountPoint);
        // What a SIGKILLed appliance leaves behind: the mount, with nobody reading its /dev/fuse.
        var master = FuseKernelMount.Mount(mountPoint, 1 << 20, false, false, TimeSpan.FromSeconds(10));
        using (var channel = new FuseChannel(master, 1 << 20, 1, NullLogger.Instance))
            await Task.Run(() => channel.Initialize(new FuseInitRequest()));

        await using var mount = new FuseMount(volume.Fs, new FuseMountOptions { MountPoint = mountPoint });
        await mount.StartAsync();

        Assert.True(mount.RecoveredStaleMount);
        await File.WriteAllTextAsync(Path.Combine(mountPoint, "after-crash"), "served");
        Assert.True((await volume.Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "after-crash")).Ok);
        await mount.StopAsync();
        Assert.False(FuseKernelMount.IsMountPoint(mountPoint));
    }

    [FuseFact]
    public async Task A_non_empty_mount_point_is_refused_with_a_clear_error()
    {
        var mountPoint = Path.Combine(volume.Scratch, "occupied");
        Directory.CreateDirectory(mountPoint);
        await File.WriteAllTextAsync(Path.Combine(mountPoint, "keep"), "mine");
        await using var mount = new FuseMount(volume.Fs, new FuseMountOptions { MountPoint = mountPoint });

        var error = await Assert.ThrowsAsync<FuseMountException>(() => mount.StartAsync());

        Assert.Contains("not empty", error.Message);
        Assert.False(mount.IsMounted);
    }

    [FuseFact]
    public async Task Stop_unmounts_even_while_a_file_is_open_and_flushes_its_writes()
    {
        var mountPoint = Path.Combine(volume.Scratch, "busy");
        var mount = new FuseMount(volume.Fs, new FuseMountOptions { MountPoint = mountPoint });
        await mount.StartAsync();
        var open = new FileStream(Path.Combine(mountPoint, "open-at-stop"), FileMode.Create, FileAccess.Write, FileShare.ReadWrite, 1);
        await open.WriteAsync("unflushed"u8.ToArray());

        await mount.StopAsync();

        Assert.False(FuseKernelMount.IsMountPoint(mountPoint));
        var attr = await volume.Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "open-at-stop");
        Assert.Equal(9, attr.Value.Size);
        try
        {
            open.Dispose();
        }
        catch (IOException)
        {
            // The connection is gone; closing the orphaned descriptor may report it.
        }
        await mount.DisposeAsync();
    }

    [FuseFact]
    public void Lookup_counts_follow_the_kernel()
    {
        var dir = volume.NewDirectory("counted");
        File.WriteAllText(Path.Combine(dir, "f"), "x");
        Assert.True(volume.Mount.Inodes!.Count > 0);
    }
}
