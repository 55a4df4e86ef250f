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

    /// <summary>Puts this process in cgroup v2 <paramref name="group"/> with the given memory.max, memory.current and memory.stat.</summary>
    private void WriteCgroup(string group, string max, string current, string? stat = null)
    {
        Write(Path.Combine(Proc, "self", "cgroup"), $"0::{group}\n");
        var directory = Path.Combine(Cgroup, group.TrimStart('/'));
        Write(Path.Combine(directory, "memory.max"), max + "\n");
        Write(Path.Combine(directory, "memory.current"), current + "\n");
        if (stat is not null)
            Write(Path.Combine(directory, "memory.stat"), stat);
    }

    [LinuxFact]
    public void Without_a_cgroup_limit_the_machine_s_figures_are_read()
    {
        WriteMeminfo(16_000_000, 6_000_000);
        WriteCgroup("/user.slice", "max", "123456789");

        Assert.Equal(new MemoryReading(16_000_000L * 1024, 6_000_000L * 1024), Gauge().Read());
    }

    [LinuxFact]
    public void A_cgroup_limit_bounds_the_total_and_counts_only_what_reclaim_cannot_free_as_used()
    {
        WriteMeminfo(16_000_000, 12_000_000);
        WriteCgroup("/system.slice/appliance.service", $"{4L << 30}", $"{3L << 30}",
            $"anon {2L << 30}\nfile {1L << 30}\ninactive_file {1L << 30}\n");

        // 4 GiB allowed, 3 GiB held of which 1 GiB is clean page cache the kernel reclaims first: 2 GiB left.
        Assert.Equal(new MemoryReading(4L << 30, 2L << 30), Gauge().Read());
    }

    [LinuxFact]
    public void Unreadable_or_incomplete_figures_give_no_reading_rather_than_a_wrong_one()
    {
        Assert.Null(Gauge().Read());
        Write(Path.Combine(Proc, "meminfo"), "MemTotal: 1000 kB\n");
        Assert.Null(Gauge().Read());

        // A cgroup file that does not name a v2 group leaves the machine's figures.
        WriteMeminfo(2000, 1000);
        Write(Path.Combine(Proc, "self", "cgroup"), "12:memory:/legacy\n");
        Assert.Equal(new MemoryReading(2000L * 1024, 1000L * 1024), Gauge().Read());
    }

    [LinuxFact]
    public void This_machine_reports_memory_it_has()
    {
        var reading = SystemMemoryGauge.Instance.Read();
        Assert.NotNull(reading);
        Assert.InRange(reading.Value.TotalBytes, 64L << 20, long.MaxValue);
        Assert.InRange(reading.Value.AvailableBytes, 0, reading.Value.TotalBytes);
    }
}
