using System.Text;
using Fs.Core.Locks;
using Fs.Core.Vfs;
using static Protocols.Fuse.Tests.EndToEnd.MountedVolume;

namespace Protocols.Fuse.Tests.EndToEnd;

/// <summary>Changes made through the core are seen through the mount at once, and the reverse; locks are shared.</summary>
public sealed class CrossDoorTests(MountedVolume volume) : IClassFixture<MountedVolume>
{
    private FileSystem Fs => volume.Fs;

    private async Task<ulong> InoOf(string name)
    {
        var attr = await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, name);
        return attr.Value.Ino;
    }

    private async Task WriteThroughCoreAsync(ulong ino, string content, bool truncate)
    {
        var handle = (await Fs.OpenAsync(Caller.Root, ino, OpenFlags.ReadWrite | (truncate ? OpenFlags.Truncate : 0))).Value;
        Assert.Equal(Encoding.UTF8.GetByteCount(content), (await Fs.WriteAsync(handle, 0, Encoding.UTF8.GetBytes(content))).Value);
        Assert.Equal(Errno.OK, await Fs.ReleaseAsync(handle));
    }

    private async Task<string> ReadThroughCoreAsync(ulong ino)
    {
        var handle = (await Fs.OpenAsync(Caller.Root, ino, OpenFlags.ReadOnly)).Value;
        var buffer = new byte[1 << 16];
        var n = (await Fs.ReadAsync(handle, 0, buffer)).Value;
        await Fs.ReleaseAsync(handle);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    [FuseFact]
    public async Task A_name_replaced_without_a_notice_is_looked_up_again_rather_than_reported_missing()
    {
        var path = Path.Combine(volume.Path, "replaced-quietly");
        var old = (await Fs.CreateAsync(Caller.Root, FsLimits.RootIno, "replaced-quietly", 0x1A4, OpenFlags.ReadWrite)).Value;
        await Fs.WriteAsync(old.Handle, 0, "old"u8.ToArray());
        await Fs.ReleaseAsync(old.Handle);
        var replacement = (await Fs.CreateAsync(Caller.Root, FsLimits.RootIno, "replacement", 0x1A4, OpenFlags.ReadWrite)).Value;
        await Fs.WriteAsync(replacement.Handle, 0, "new"u8.ToArray());
        await Fs.ReleaseAsync(replacement.Handle);
        Assert.Equal("old", await File.ReadAllTextAsync(path)); // the kernel now maps the name to the old inode

        // Straight through the engine, as another appliance does: no notice reaches this mount, its entry stays cached.
        Assert.True((await Fs.Meta.RenameAsync(Caller.Root, FsLimits.RootIno, "replacement", FsLimits.RootIno, "replaced-quietly", RenameFlags.None, CancellationToken.None)).Ok);
        // The kernel sends RELEASE after close(2) returns; once it came, the replaced inode is gone.
        var gone = System.Diagnostics.Stopwatch.StartNew();
        while ((await Fs.GetAttrAsync(old.Attr.Ino)).Error != Errno.ENOENT)
        {
            Assert.True(gone.Elapsed < TimeSpan.FromSeconds(10), "the replaced inode outlived its last release");
            await Task.Delay(10);
        }

        Assert.Equal("new", await File.ReadAllTextAsync(path));
        Assert.Equal(3, new FileInfo(path).Length);
    }

    [FuseFact]
    public async Task Core_writes_names_and_removals_are_seen_through_the_mount_without_waiting()
    {
        var path = Path.Combine(volume.Path, "coherent");
        Assert.False(File.Exists(path)); // the kernel now holds this name as absent

        var (attr, handle) = (await Fs.CreateAsync(Caller.Root, FsLimits.RootIno, "coherent", 0x1A4, OpenFlags.ReadWrite)).Value;
        await Fs.WriteAsync(handle, 0, "first version"u8.ToArray());
        await Fs.ReleaseAsync(handle);
        Assert.Equal("first version", await File.ReadAllTextAsync(path)); // pages and size now cached by the kernel

        await WriteThroughCoreAsync(attr.Ino, "second, longer version", truncate: true);
        Assert.Equal("second, longer version", await File.ReadAllTextAsync(path));

        await WriteThroughCoreAsync(attr.Ino, "short", truncate: true);
        Assert.Equal("short", await File.ReadAllTextAsync(path));
        Assert.Equal(5, new FileInfo(path).Length);

        await Fs.SetAttrAsync(Caller.Root, attr.Ino, new SetAttrRequest(SetAttrMask.Mode, Mode: 0x1C0));
        Assert.Equal("700", await CheckedAsync($"stat -c %a {path}"));

        Assert.Equal(Errno.OK, await Fs.RenameAsync(Caller.Root, FsLimits.RootIno, "coherent", FsLimits.RootIno, "renamed"));
        Assert.False(File.Exists(path));
        Assert.Equal("short", await File.ReadAllTextAsync(Path.Combine(volume.Path, "renamed")));

        Assert.Equal(Errno.OK, await Fs.UnlinkAsync(Caller.Root, FsLimits.RootIno, "renamed"));
        Assert.False(File.Exists(Path.Combine(volume.Path, "renamed")));
        Assert.DoesNotContain("renamed", Directory.EnumerateFileSystemEntries(volume.Path).Select(Path.GetFileName));
    }

    [FuseFact]
    public async Task Mount_writes_names_and_removals_are_seen_through_the_core_without_waiting()
    {
        var path = Path.Combine(volume.Path, "reverse");
        await File.WriteAllTextAsync(path, "from the mount");
        var ino = await InoOf("reverse");
        Assert.Equal("from the mount", await ReadThroughCoreAsync(ino));

        await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1))
        {
            stream.Position = 5;
            await stream.WriteAsync("XXX"u8.ToArray());
            await stream.FlushAsync();
            Assert.Equal("from XXX mount", await ReadThroughCoreAsync(ino)); // while still open
        }
        File.Move(path, Path.Combine(volume.Path, "reverse2"));
        Assert.Equal(Errno.ENOENT, (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "reverse")).Error);
        Assert.Equal(ino, await InoOf("reverse2"));
        File.Delete(Path.Combine(volume.Path, "reverse2"));
        Assert.Equal(Errno.ENOENT, (await Fs.LookupAsync(Caller.Root, FsLimits.RootIno, "reverse2")).Error);
    }

    [FuseFact]
    public async Task An_fcntl_lock_on_the_mount_and_a_lock_manager_lock_exclude_each_other()
    {
        var path = Path.Combine(volume.Path, "locked");
        await File.WriteAllTextAsync(path, "x");
        var ino = await InoOf("locked");
        var nfsClient = new LockOwner(Fs.Session, LockDoor.Nfs, "10.0.0.9", 77);

        var holder = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("python3",
            ["-c", $"import fcntl,sys; f=open('{path}','r+'); fcntl.lockf(f, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.readline()"])
        { RedirectStandardOutput = true, RedirectStandardInput = true })!;
        Assert.Equal("held", await holder.StandardOutput.ReadLineAsync());
        Assert.Equal(Errno.EAGAIN, await Fs.Locks.SetPosixAsync(ino, nfsClient, LockMode.Exclusive, 0, long.MaxValue, wait: false, pid: 0, CancellationToken.None));
        await holder.StandardInput.WriteLineAsync();
        await holder.WaitForExitAsync();

        Assert.Equal(Errno.OK, await Fs.Locks.SetPosixAsync(ino, nfsClient, LockMode.Exclusive, 0, long.MaxValue, wait: false, pid: 0, CancellationToken.None));
        var (exit, _, _) = await ShellAsync($"python3 -c \"import fcntl; f=open('{path}','r+'); fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB)\"");
        Assert.NotEqual(0, exit);
        Assert.Equal(Errno.OK, await Fs.Locks.UnlockPosixAsync(ino, nfsClient, 0, long.MaxValue, CancellationToken.None));
        await CheckedAsync($"python3 -c \"import fcntl; f=open('{path}','r+'); fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB)\"");
    }

    [FuseFact]
    public async Task A_blocked_setlkw_is_released_by_a_signal()
    {
        var path = Path.Combine(volume.Path, "interrupted");
        await File.WriteAllTextAsync(path, "x");
        var ino = await InoOf("interrupted");
        var other = new LockOwner(Fs.Session, LockDoor.Nfs, "10.0.0.9", 78);
        Assert.Equal(Errno.OK, await Fs.Locks.SetPosixAsync(ino, other, LockMode.Exclusive, 0, long.MaxValue, wait: false, pid: 0, CancellationToken.None));
        // timeout sends SIGTERM to a process blocked in fcntl(F_SETLKW): the kernel sends INTERRUPT, the wait must end.
        var started = DateTime.UtcNow;
        var (exit, _, _) = await ShellAsync($"timeout -s TERM 1 python3 -c \"import fcntl; f=open('{path}','r+'); fcntl.lockf(f, fcntl.LOCK_EX)\"");
        Assert.Equal(124, exit);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
        Assert.Equal(Errno.OK, await Fs.Locks.UnlockPosixAsync(ino, other, 0, long.MaxValue, CancellationToken.None));
        await CheckedAsync($"python3 -c \"import fcntl; f=open('{path}','r+'); fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\"");
    }
}
