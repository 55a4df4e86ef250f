using System.Diagnostics;
using static Protocols.Fuse.Tests.EndToEnd.MountedVolume;

namespace Protocols.Fuse.Tests.EndToEnd;

/// <summary>The POSIX scenarios of issue #3 run with ordinary tools through the real mount.</summary>
public sealed class PosixScenarioTests(MountedVolume volume) : IClassFixture<MountedVolume>
{
    private string Dir(string name) => volume.NewDirectory(name);

    [FuseFact]
    public async Task A_100_MiB_file_reads_back_with_the_same_sha256()
    {
        var dir = Dir("big");
        var source = Path.Combine(volume.Scratch, "big.src");
        await CheckedAsync($"head -c 100M /dev/urandom > {source} && cp {source} {dir}/big && sync {dir}/big");
        // Read back through a fresh page cache: the bytes have to come from the volume.
        await volume.CloseAsync();
        await volume.OpenAsync();
        var sums = await CheckedAsync($"sha256sum < {source} && sha256sum < {dir}/big && stat -c %s {dir}/big");
        var lines = sums.Split('\n');
        Assert.Equal(lines[0], lines[1]);
        Assert.Equal((100L << 20).ToString(), lines[2]);
    }

    [FuseFact]
    public async Task Overwrite_in_the_middle_append_and_truncate_up_and_down_match_a_local_file()
    {
        var dir = Dir("edit");
        var local = Path.Combine(volume.Scratch, "edit.local");
        var steps = new[]
        {
            "head -c 3000000 /dev/urandom > {0}",
            "printf 'MIDDLE-OVERWRITE' | dd of={0} bs=1 seek=1500000 conv=notrunc status=none",
            "head -c 12345 /dev/urandom >> {0}",
            "truncate -s 5000000 {0}",
            "truncate -s 1000 {0}",
            "echo appended-after-truncate >> {0}",
        };
        var seed = Path.Combine(volume.Scratch, "edit.seed");
        await CheckedAsync($"head -c 3000000 /dev/urandom > {seed}");
        foreach (var step in steps)
        {
            // The random inputs are made once and replayed on both files.
            var command = step.Replace("head -c 3000000 /dev/urandom >", $"cat {seed} >", StringComparison.Ordinal)
                              .Replace("head -c 12345 /dev/urandom >>", $"head -c 12345 {seed} >>", StringComparison.Ordinal);
            await CheckedAsync(string.Format(command, local));
            await CheckedAsync(string.Format(command, $"{dir}/f"));
            await CheckedAsync($"cmp {local} {dir}/f");
        }
    }

    [FuseFact]
    public async Task A_sparse_file_reads_zeros_in_its_hole_and_seeks_data_and_holes_by_posix_rules()
    {
        var dir = Dir("sparse");
        var script = $$"""
import os, errno
p = '{{dir}}/s'
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b'tail', 10 << 20)
assert os.fstat(fd).st_size == (10 << 20) + 4
assert os.pread(fd, 4096, 5 << 20) == bytes(4096)
d = os.lseek(fd, 0, os.SEEK_DATA)
assert 0 <= d <= 10 << 20, d
h = os.lseek(fd, 0, os.SEEK_HOLE)
assert 0 <= h <= (10 << 20) + 4, h
assert os.lseek(fd, 10 << 20, os.SEEK_DATA) == 10 << 20
assert os.lseek(fd, 10 << 20, os.SEEK_HOLE) == (10 << 20) + 4
try:
    os.lseek(fd, (10 << 20) + 4, os.SEEK_DATA)
    raise SystemExit('SEEK_DATA at EOF must fail')
except OSError as e:
    assert e.errno == errno.ENXIO
print('ok')
""";
        Assert.Equal("ok", await RunPythonAsync(script));
    }

    [FuseFact]
    public async Task Mmap_writes_after_msync_are_seen_by_read()
    {
        var dir = Dir("mmap");
        var script = $$"""
import os, mmap
p = '{{dir}}/m'
with open(p, 'wb') as f:
    f.write(b'a' * 100000)
with open(p, 'r+b') as f:
    m = mmap.mmap(f.fileno(), 0)
    assert m[5:10] == b'aaaaa'
    m[50000:50005] = b'HELLO'
    m.flush()
    m.close()
fd = os.open(p, os.O_RDONLY)
assert os.pread(fd, 5, 50000) == b'HELLO', os.pread(fd, 5, 50000)
os.close(fd)
print('ok')
""";
        Assert.Equal("ok", await RunPythonAsync(script));
        // And from another process after the writer is gone.
        Assert.Equal("HELLO", await CheckedAsync($"dd if={dir}/m bs=1 skip=50000 count=5 status=none"));
    }

    [FuseFact]
    public async Task Rename_replaces_an_existing_file_and_an_empty_directory()
    {
        var dir = Dir("rename");
        await CheckedAsync($"echo new > {dir}/a && echo old > {dir}/b && mv -f {dir}/a {dir}/b");
        Assert.Equal("new", await CheckedAsync($"cat {dir}/b"));
        Assert.False(File.Exists($"{dir}/a"));

        await CheckedAsync($"mkdir {dir}/d1 {dir}/d2 && touch {dir}/d1/inside && mv -T {dir}/d1 {dir}/d2");
        Assert.True(File.Exists($"{dir}/d2/inside"));
        Assert.False(Directory.Exists($"{dir}/d1"));

        var (exit, _, _) = await ShellAsync($"mkdir {dir}/d3 && mv -T {dir}/d3 {dir}/d2"); // d2 is not empty
        Assert.NotEqual(0, exit);
    }

    [FuseFact]
    public async Task An_unlinked_file_stays_readable_through_its_open_descriptor()
    {
        var dir = Dir("unlink");
        var script = $$"""
import os
p = '{{dir}}/u'
with open(p, 'wb') as f:
    f.write(b'still here' * 1000)
fd = os.open(p, os.O_RDWR)
os.unlink(p)
assert not os.path.exists(p)
assert os.pread(fd, 10, 0) == b'still here'
os.pwrite(fd, b'WRITTEN', 5)
assert os.pread(fd, 12, 0) == b'stillWRITTEN'
assert os.fstat(fd).st_nlink == 0
os.close(fd)
print('ok')
""";
        Assert.Equal("ok", await RunPythonAsync(script));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [FuseFact]
    public async Task Hard_links_share_data_and_count_links()
    {
        var dir = Dir("links");
        await CheckedAsync($"echo shared > {dir}/one && ln {dir}/one {dir}/two && ln {dir}/one {dir}/three");
        Assert.Equal("3", await CheckedAsync($"stat -c %h {dir}/one"));
        Assert.Equal(await CheckedAsync($"stat -c %i {dir}/one"), await CheckedAsync($"stat -c %i {dir}/three"));
        await CheckedAsync($"echo more >> {dir}/two && rm {dir}/one");
        Assert.Equal("shared\nmore", await CheckedAsync($"cat {dir}/three"));
        Assert.Equal("2", await CheckedAsync($"stat -c %h {dir}/two"));
    }

    [FuseFact]
    public async Task Symlinks_resolve_and_read_back()
    {
        var dir = Dir("symlinks");
        await CheckedAsync($"echo target > {dir}/t && ln -s t {dir}/l && ln -s /nonexistent/far/away {dir}/dangling && mkdir {dir}/sub && ln -s ../t {dir}/sub/up");
        Assert.Equal("t", await CheckedAsync($"readlink {dir}/l"));
        Assert.Equal("target", await CheckedAsync($"cat {dir}/l"));
        Assert.Equal("target", await CheckedAsync($"cat {dir}/sub/up"));
        Assert.Equal("/nonexistent/far/away", await CheckedAsync($"readlink {dir}/dangling"));
        Assert.Equal("symbolic link", await CheckedAsync($"stat -c %F {dir}/l"));
    }

    [FuseFact]
    public async Task A_fifo_is_created_and_carries_data_between_processes()
    {
        var dir = Dir("fifo");
        await CheckedAsync($"mkfifo {dir}/p");
        Assert.Equal("fifo", await CheckedAsync($"stat -c %F {dir}/p"));
        Assert.Equal("through the pipe", await CheckedAsync($"(echo 'through the pipe' > {dir}/p &) ; timeout 10 cat {dir}/p"));
    }

    [FuseFact]
    public async Task Mode_and_owner_decide_what_an_unprivileged_user_may_do()
    {
        var dir = Dir("perm");
        await CheckedAsync($"chmod 755 {dir} && echo secret > {dir}/f && chmod 600 {dir}/f");
        var (denied, _, error) = await ShellAsync($"cat {dir}/f", asUid: 1000);
        Assert.NotEqual(0, denied);
        Assert.Contains("Permission denied", error);
        var (createDenied, _, _) = await ShellAsync($"touch {dir}/new", asUid: 1000);
        Assert.NotEqual(0, createDenied);

        await CheckedAsync($"chown 1000:1000 {dir}/f");
        Assert.Equal("1000:1000", await CheckedAsync($"stat -c %u:%g {dir}/f"));
        Assert.Equal("secret", await CheckedAsync($"cat {dir}/f", asUid: 1000));
        await CheckedAsync($"chmod 400 {dir}/f", asUid: 1000);
        var (writeDenied, _, _) = await ShellAsync($"echo x >> {dir}/f", asUid: 1000);
        Assert.NotEqual(0, writeDenied);
        var (chownDenied, _, _) = await ShellAsync($"chown 0 {dir}/f", asUid: 1000);
        Assert.NotEqual(0, chownDenied);
    }

    [FuseFact]
    public async Task A_setgid_directory_passes_its_group_to_new_files_and_directories()
    {
        var dir = Dir("setgid");
        await CheckedAsync($"mkdir {dir}/g && chown 0:1234 {dir}/g && chmod 2775 {dir}/g && touch {dir}/g/f && mkdir {dir}/g/sub");
        Assert.Equal("1234", await CheckedAsync($"stat -c %g {dir}/g/f"));
        Assert.Equal("1234", await CheckedAsync($"stat -c %g {dir}/g/sub"));
        Assert.Equal("2", (await CheckedAsync($"stat -c %a {dir}/g/sub"))[..1]);
    }

    [FuseFact]
    public async Task Extended_attributes_are_set_read_listed_and_removed()
    {
        var dir = Dir("xattr");
        await CheckedAsync($"touch {dir}/f && setfattr -n user.color -v blue {dir}/f && setfattr -n user.size -v 42 {dir}/f");
        Assert.Equal("blue", await CheckedAsync($"getfattr --only-values -n user.color {dir}/f"));
        var listed = await CheckedAsync($"getfattr -d {dir}/f");
        Assert.Contains("user.color=\"blue\"", listed);
        Assert.Contains("user.size=\"42\"", listed);
        await CheckedAsync($"setfattr -x user.color {dir}/f");
        var (missing, _, _) = await ShellAsync($"getfattr -n user.color {dir}/f");
        Assert.NotEqual(0, missing);
    }

    [FuseFact]
    public async Task Flock_from_two_processes_conflicts_and_blocks_until_released()
    {
        var dir = Dir("flock");
        await CheckedAsync($"touch {dir}/l");
        var holder = StartBackground($"flock -n {dir}/l -c 'echo held; sleep 2'");
        Assert.Equal("held", await holder.StandardOutput.ReadLineAsync());
        var (conflict, _, _) = await ShellAsync($"flock -n {dir}/l true");
        Assert.Equal(1, conflict);
        var waited = Stopwatch.StartNew();
        await CheckedAsync($"flock -w 20 {dir}/l true");
        Assert.True(waited.Elapsed > TimeSpan.FromMilliseconds(500), "the blocking flock returned before the holder let go");
        await holder.WaitForExitAsync();
    }

    [FuseFact]
    public async Task Fcntl_locks_from_two_processes_conflict_and_block_until_released()
    {
        var dir = Dir("fcntl");
        await CheckedAsync($"touch {dir}/l");
        var holder = StartBackground($"python3 -c \"import fcntl,time,sys; f=open('{dir}/l','r+'); fcntl.lockf(f, fcntl.LOCK_EX, 100, 0); print('held', flush=True); time.sleep(2)\"");
        Assert.Equal("held", await holder.StandardOutput.ReadLineAsync());
        var (conflict, _, _) = await ShellAsync($"python3 -c \"import fcntl; f=open('{dir}/l','r+'); fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 50)\"");
        Assert.NotEqual(0, conflict);
        Assert.Equal("ok", await CheckedAsync($"python3 -c \"import fcntl; f=open('{dir}/l','r+'); fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 200); print('ok')\""));
        var waited = Stopwatch.StartNew();
        Assert.Equal("got", await CheckedAsync($"python3 -c \"import fcntl; f=open('{dir}/l','r+'); fcntl.lockf(f, fcntl.LOCK_EX, 10, 50); print('got')\""));
        Assert.True(waited.Elapsed > TimeSpan.FromMilliseconds(500), "the blocking lock returned before the holder let go");
        await holder.WaitForExitAsync();
    }

    [FuseFact]
    public async Task Df_shows_the_volume_capacity_and_free_space()
    {
        var stat = (await volume.Fs.StatFsAsync()).Value;
        var df = (await CheckedAsync($"df -B1 --output=size,avail {volume.Path} | tail -1")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(stat.TotalBytes / 4096 * 4096, long.Parse(df[0]));
        Assert.InRange(long.Parse(df[1]), stat.AvailableBytes - (64L << 20), stat.AvailableBytes);
    }

    [FuseFact]
    public async Task Cp_a_of_a_thousand_files_compares_equal_with_diff_r()
    {
        var dir = Dir("tree");
        var source = Path.Combine(volume.Scratch, "tree");
        await CheckedAsync($"""
            mkdir -p {source} && cd {source} && for d in $(seq 1 20); do mkdir -p d$d/sub; for f in $(seq 1 25); do
              head -c $((RANDOM * 3)) /dev/urandom > d$d/f$f; echo "$d $f" > d$d/sub/g$f; done; ln -sf f1 d$d/link; done
              chmod 640 d1/f1; touch -d '2001-01-01 00:00:00' d2/f2
            """);
        Assert.Equal("1000", await CheckedAsync($"find {source} -type f | wc -l"));
        await CheckedAsync($"cp -a {source} {dir}/");
        await CheckedAsync($"diff -r {source} {dir}/tree");
        Assert.Equal(await CheckedAsync($"cd {source} && find . -printf '%p %m %s %T@ %l\\n' | sort"),
            await CheckedAsync($"cd {dir}/tree && find . -printf '%p %m %s %T@ %l\\n' | sort"));
    }

    private static Process StartBackground(string command)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        return Process.Start(start)!;
    }

    private async Task<string> RunPythonAsync(string script)
    {
        var file = Path.Combine(volume.Scratch, $"script-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(file, script);
        return await CheckedAsync($"python3 {file}");
    }
}
