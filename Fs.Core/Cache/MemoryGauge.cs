using System.Globalization;

namespace Fs.Core.Cache;

/// <summary>How much memory the machine, or the control group the process runs in, has and has left.</summary>
/// <param name="TotalBytes">Memory the process may use at most: the machine's, or its control group's limit when lower.</param>
/// <param name="AvailableBytes">Memory that can still be had without swapping or reclaiming anything but clean page cache.</param>
public readonly record struct MemoryReading(long TotalBytes, long AvailableBytes);

/// <summary>Reads the memory left to the process; the block cache shrinks its memory tier when that runs low.</summary>
public interface IMemoryGauge
{
    /// <summary>The current reading, or null when the platform does not tell.</summary>
    MemoryReading? Read();
}

/// <summary>
/// The memory left on this Linux machine: MemTotal and MemAvailable from /proc/meminfo, bounded by the limit of the
/// process's cgroup v2 (memory.max, less what the group holds apart from its reclaimable file pages) when it has one.
/// </summary>
public sealed class SystemMemoryGauge : IMemoryGauge
{
    public static readonly SystemMemoryGauge Instance = new();

    private readonly string _procRoot;
    private readonly string _cgroupRoot;

    public SystemMemoryGauge()
        : this("/proc", "/sys/fs/cgroup")
    {
    }

    /// <summary>Reads from other directories laid out like /proc and /sys/fs/cgroup (for tests).</summary>
    internal SystemMemoryGauge(string procRoot, string cgroupRoot)
    {
        _procRoot = procRoot;
        _cgroupRoot = cgroupRoot;
    }

    public MemoryReading? Read()
    {
        if (!OperatingSystem.IsLinux())
            return null;
        var info = ReadKeyed(Path.Combine(_procRoot, "meminfo"), kib: true);
        if (info is null || !info.TryGetValue("MemTotal", out var total) || !info.TryGetValue("MemAvailable", out var available))
            return null;
        if (CgroupLimit() is { } group)
        {
            total = Math.Min(total, group.Limit);
            available = Math.Min(available, Math.Max(0, group.Limit - group.Unreclaimable));
        }
        return new MemoryReading(total, available);
    }

    /// <summary>The cgroup v2 memory limit of this process and what its group holds that page reclaim cannot free; null without a limit.</summary>
    private (long Limit, long Unreclaimable)? CgroupLimit()
    {
        string? group = null;
        try
        {
            foreach (var line in File.ReadLines(Path.Combine(_procRoot, "self", "cgroup")))
            {
                if (line.StartsWith("0::", StringComparison.Ordinal))
                    group = line[3..];
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        if (group is null)
            return null;
        var directory = Path.Combine(_cgroupRoot, group.TrimStart('/'));
        var limit = ReadNumber(Path.Combine(directory, "memory.max"));
        var current = ReadNumber(Path.Combine(directory, "memory.current"));
        if (limit is not { } max || current is not { } used)
            return null;
        var stat = ReadKeyed(Path.Combine(directory, "memory.stat"), kib: false);
        var reclaimable = stat is not null && stat.TryGetValue("inactive_file", out var inactive) ? inactive : 0;
        return (max, Math.Max(0, used - reclaimable));
    }

    /// <summary>A file holding one number, or "max" (no limit: null).</summary>
    private static long? ReadNumber(string path)
    {
        try
        {
            var text = File.ReadAllText(path).Trim();
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>"Key: value [kB]" or "key value" lines; values in bytes (kB values scaled when <paramref name="kib"/>).</summary>
    private static Dictionary<string, long>? ReadKeyed(string path, bool kib)
    {
        try
        {
            var values = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var line in File.ReadLines(path))
            {
                var parts = line.Split([' ', ':', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                    values[parts[0]] = kib && parts.Length >= 3 && parts[2] == "kB" ? value * 1024 : value;
            }
            return values;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
