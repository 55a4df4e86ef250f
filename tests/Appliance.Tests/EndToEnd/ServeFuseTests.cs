using Protocols.Fuse;

namespace Appliance.Tests.EndToEnd;

/// <summary>`appliance serve --mount DIR`: the volume mounted through FUSE, and a mount left behind by a killed appliance recovered by the next one.</summary>
public sealed class ServeFuseTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("appliance-fuse-").FullName;

    private string MountPoint => Path.Combine(_dir, "mnt");

    public void Dispose()
    {
        // A failed test may leave the mount behind; detach it so the directory can go.
        using (var umount = System.Diagnostics.Process.Start("umount", ["-l", MountPoint]))
            umount.WaitForExit();
        Directory.Delete(_dir, recursive: true);
    }

    [SkippableFact]
    public async Task A_killed_appliance_leaves_a_dead_mount_that_the_next_serve_recovers()
    {
        Skip.IfNot(FuseMount.IsSupported(out var reason), reason);

        await using (var first = await StartAsync())
        {
            await File.WriteAllTextAsync(Path.Combine(MountPoint, "before-kill.txt"), "written through the mount\n");
            first.Kill();
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        var dead = Assert.ThrowsAny<IOException>(() => Directory.EnumerateFileSystemEntries(MountPoint).ToList());
        Assert.Contains("not connected", dead.Message, StringComparison.OrdinalIgnoreCase);

        await using var second = await StartAsync();
        Assert.Contains("dead FUSE mount", second.Transcript);
        Assert.Equal("written through the mount\n", await File.ReadAllTextAsync(Path.Combine(MountPoint, "before-kill.txt")));
        await File.WriteAllTextAsync(Path.Combine(MountPoint, "after-recovery.txt"), "still serving\n");

        second.Terminate();
        var code = await second.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(code == 0, $"exit code {code} after SIGTERM; output:\n{second.Transcript}");
        Assert.Empty(Directory.EnumerateFileSystemEntries(MountPoint));
    }

    private async Task<ChildProcess> StartAsync()
    {
        var serve = ChildProcess.Start("appliance.dll", _dir, "serve", "--webdav", "off", "--nfs", "off", "--mount", MountPoint);
        var ready = await serve.WaitForLineAsync(l => l.Contains("ready: volume ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        Assert.Contains($"fuse at {MountPoint}", ready);
        return serve;
    }
}
