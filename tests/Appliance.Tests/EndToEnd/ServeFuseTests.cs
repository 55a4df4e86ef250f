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

    [SkippableFact]
    public async Task A_lock_held_when_the_appliance_was_killed_is_free_as_soon_as_the_next_serve_runs()
    {
        Skip.IfNot(FuseMount.IsSupported(out var reason), reason);
        var file = Path.Combine(MountPoint, "locked.txt");
        const string TryLock = "import fcntl, sys, time\n"
            + "f = open(sys.argv[1], 'r+')\n"
            + "try:\n    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept OSError:\n    print('busy', flush=True); sys.exit(1)\n"
            + "print('locked', flush=True)\n"
            + "time.sleep(float(sys.argv[2]))\n";

        await using (var first = await StartAsync())
        {
            await File.WriteAllTextAsync(file, "data\n");
            using var holder = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("python3", ["-c", TryLock, file, "600"])
            {
                RedirectStandardOutput = true,
            })!;
            Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync());
            // A second owner is refused while the lock is held, so the check below can tell a freed lock from no lock.
            Assert.Equal(1, await RunAsync("python3", "-c", TryLock, file, "0"));
            first.Kill();
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
            holder.Kill();
            await holder.WaitForExitAsync();
        }

        // The killed appliance's session still beats in the database's eyes (its heartbeat is seconds old), but its
        // process is gone: the next serve closes it at once and the lock is free, not after the session timeout.
        await using var second = await StartAsync();
        Assert.Equal(0, await RunAsync("python3", "-c", TryLock, file, "0"));
        second.Terminate();
        await second.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    [SkippableFact]
    public async Task An_appliance_run_by_an_ordinary_user_mounts_through_fusermount3_and_recovers_its_dead_mount()
    {
        Skip.IfNot(FuseMount.IsSupported(out var reason), reason);
        Skip.IfNot(File.Exists("/usr/bin/fusermount3"), "fusermount3 (Debian package fuse3) is not installed");
        Skip.IfNot(OperatingSystem.IsLinux() && (File.GetUnixFileMode("/dev/fuse") & UnixFileMode.OtherWrite) != 0, "/dev/fuse is not open to other users (.ci/run makes it 0666)");
        Assert.Equal(0, await RunAsync("chown", "-R", $"{User}:{User}", _dir));

        await using (var first = await StartAsync(asUser: true))
        {
            Assert.Contains("fuse at", first.Transcript);
            Assert.Equal(0, await RunAsUserAsync("echo 'written by uid 1000' > before-kill.txt && test \"$(stat -c %u before-kill.txt)\" = 1000"));
            first.Kill();
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
        Assert.Contains(MountPoint, await File.ReadAllTextAsync("/proc/self/mountinfo"));

        // The next run, still unprivileged, detaches the dead mount through fusermount3 -uz and mounts again.
        await using var second = await StartAsync(asUser: true);
        Assert.Contains("dead FUSE mount", second.Transcript);
        Assert.Equal(0, await RunAsUserAsync("grep -qx 'written by uid 1000' before-kill.txt"));

        second.Terminate();
        var code = await second.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(code == 0, $"exit code {code} after SIGTERM; output:\n{second.Transcript}");
        Assert.DoesNotContain($" {MountPoint} ", await File.ReadAllTextAsync("/proc/self/mountinfo"));
    }

    private const uint User = 1000;

    private Task<int> RunAsUserAsync(string script) =>
        RunAsync("setpriv", $"--reuid={User}", $"--regid={User}", "--clear-groups", "--", "sh", "-c", $"cd '{MountPoint}' && {script}");

    private static async Task<int> RunAsync(string program, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(program, args);
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    private async Task<ChildProcess> StartAsync(bool asUser = false)
    {
        string[] args = ["serve", "--webdav", "off", "--nfs", "off", "--admin", "off", "--mount", MountPoint];
        var serve = asUser ? ChildProcess.StartAs(User, User, "appliance.dll", _dir, args) : ChildProcess.Start("appliance.dll", _dir, args);
        var ready = await serve.WaitForLineAsync(l => l.Contains("ready: volume ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        Assert.Contains($"fuse at {MountPoint}", ready);
        return serve;
    }
}
