using Fs.Core.Cache;
using Fs.Core.Tests.Objects;

namespace Fs.Core.Tests.Cache;

/// <summary>The gauge reads /proc/meminfo and the process's cgroup v2 limit: laid out in scratch directories, and for real.</summary>
public sealed class SystemMemoryGaugeTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string Proc => Path.Combine(_scratch.Path, "proc");

    private string Cgroup => Path.Combine(_scratch.Path, "cgroup");

    private SystemMemoryGauge Gauge() => new(Proc, Cgroup);

    private void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private void WriteMeminfo(long totalKiB, long availableKiB) =>
        Write(Path.Combine(Proc, "meminfo"), $"MemTotal:       {totalKiB} kB\nMemFree:         1000 kB\nMemAvailable:   {availableKiB} kB\nBuffers:           10 kB\n");

    [Fact]
    public void Without_a_cgroup_limit_the_machine_s_figures_are_read()
    {
        if (!OperatingSystem.IsLinux())
            return;
        WriteMeminfo(16_000_000, 6_000_000);
        Write(Path.Combine(Proc, "self", "cgroup"), "0::/user.slice\n");
        Write(Path.Combine(Cgroup, "user.slice", "memory.max"), "max\n");
        Write(Path.Combine(Cgroup, "user.slice", "memory.current"), "123456789\n");

        Assert.Equal(new MemoryReading(16_000_000L * 1024, 6_000_000L * 1024), Gauge().Read());
    }

    [Fact]
    public void A_cgroup_limit_bounds_the_total_and_counts_only_what_reclaim_cannot_free_as_used()
    {
        if (!OperatingSystem.IsLinux())
            return;
        WriteMeminfo(16_000_000, 12_000_000);
        Write(Path.Combine(Proc, "self", "cgroup"), "0::/system.slice/appliance.service\n");
        var group = Path.Combine(Cgroup, "system.slice", "appliance.service");
        Write(Path.Combine(group, "memory.max"), $"{4L << 30}\n");
        Write(Path.Combine(group, "memory.current"), $"{3L << 30}\n");
        Write(Path.Combine(group, "memory.stat"), $"anon {2L << 30}\nfile {1L << 30}\ninactive_file {1L << 30}\n");

        // 4 GiB allowed, 3 GiB held of which 1 GiB is clean page cache the kernel reclaims first: 2 GiB left.
        Assert.Equal(new MemoryReading(4L << 30, 2L << 30), Gauge().Read());
    }

    [Fact]
    public void Unreadable_or_incomplete_figures_give_no_reading_rather_than_a_wrong_one()
    {
        if (!OperatingSystem.IsLinux())
            return;
        Assert.Null(Gauge().Read());
        Write(Path.Combine(Proc, "meminfo"), "MemTotal: 1000 kB\n");
        Assert.Null(Gauge().Read());

        // A cgroup file that does not name a v2 group leaves the machine's figures.
        WriteMeminfo(2000, 1000);
        Write(Path.Combine(Proc, "self", "cgroup"), "12:memory:/legacy\n");
        Assert.Equal(new MemoryReading(2000L * 1024, 1000L * 1024), Gauge().Read());
    }

    [Fact]
    public void This_machine_reports_memory_it_has()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var reading = SystemMemoryGauge.Instance.Read();
        Assert.NotNull(reading);
        Assert.InRange(reading.Value.TotalBytes, 64L << 20, long.MaxValue);
        Assert.InRange(reading.Value.AvailableBytes, 0, reading.Value.TotalBytes);
    }
}
