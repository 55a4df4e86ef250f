using System.Diagnostics;
using Xunit.Abstractions;
using static Protocols.Fuse.Tests.EndToEnd.MountedVolume;

namespace Protocols.Fuse.Tests.EndToEnd;

/// <summary>Issue #3's benchmark: dd 1 GiB write+fsync and cold read through the mount against the local disk, and metadata ops/s. Prints figures.</summary>
[Trait("Category", "Benchmark")]
public sealed class FuseBenchmarkTests(MountedVolume volume, ITestOutputHelper output) : IClassFixture<MountedVolume>
{
    [FuseFact]
    public async Task Dd_and_metadata_figures_against_the_local_disk()
    {
        var local = Path.Combine(volume.Scratch, "dd.local");
        var mounted = Path.Combine(volume.NewDirectory("bench"), "dd");

        var load = File.ReadAllText("/proc/loadavg").Split(' ')[..3];
        var diskWrite = await DdAsync($"dd if=/dev/zero of={local} bs=1M count=1024 conv=fsync status=none");
        var cpu = CpuSeconds();
        var fuseWrite = await DdAsync($"dd if=/dev/zero of={mounted} bs=1M count=1024 conv=fsync status=none");
        var writeCpu = CpuSeconds() - cpu;
        var dropped = (await ShellAsync("sync && echo 3 > /proc/sys/vm/drop_caches")).Exit == 0;
        // Remounting empties the appliance's block cache and the kernel's page cache of the mount.
        await volume.CloseAsync();
        await volume.OpenAsync();
        var diskRead = await DdAsync($"dd if={local} of=/dev/null bs=1M status=none");
        cpu = CpuSeconds();
        var fuseRead = await DdAsync($"dd if={mounted} of=/dev/null bs=1M status=none");
        var readCpu = CpuSeconds() - cpu;

        const double gib = 1024;
        // The appliance runs in this process: its CPU seconds per GiB say more than wall time on a shared machine.
        output.WriteLine($"load average {string.Join(' ', load)}");
        output.WriteLine($"dd 1 GiB write+fsync: disk {gib / diskWrite:F0} MiB/s, fuse {gib / fuseWrite:F0} MiB/s, ratio {diskWrite / fuseWrite:F2}, appliance CPU {writeCpu:F2} s");
        output.WriteLine($"dd 1 GiB cold read:   disk {gib / diskRead:F0} MiB/s, fuse {gib / fuseRead:F0} MiB/s, ratio {diskRead / fuseRead:F2}, appliance CPU {readCpu:F2} s{(dropped ? "" : " (OS page cache could not be dropped: disk figures are warm)")}");

        var dir = volume.NewDirectory("meta-bench");
        const int files = 10_000;
        var create = await DdAsync($"cd {dir} && seq 1 {files} | xargs touch");
        var stat = await DdAsync($"cd {dir} && seq 1 {files} | xargs stat -c %i > /dev/null");
        var unlink = await DdAsync($"cd {dir} && seq 1 {files} | xargs rm");
        output.WriteLine($"10,000 empty files through the mount: create {files / create:F0}/s, stat {files / stat:F0}/s, unlink {files / unlink:F0}/s");
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    private static double CpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    private static async Task<double> DdAsync(string command)
    {
        var watch = Stopwatch.StartNew();
        await CheckedAsync(command);
        return watch.Elapsed.TotalSeconds;
    }
}
