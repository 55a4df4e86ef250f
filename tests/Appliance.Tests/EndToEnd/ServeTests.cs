using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Appliance.Tests.EndToEnd;

/// <summary>`appliance serve` with no flags, as a new user runs it: embedded default volume, clean stop, same volume next time.</summary>
public sealed partial class ServeTests : IDisposable
{
    private static readonly TimeSpan ReadyWithin = TimeSpan.FromSeconds(10);

    private readonly string _dir = Directory.CreateTempSubdirectory("appliance-serve-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Serve_without_flags_formats_under_data_stops_on_sigterm_and_reopens_the_same_volume()
    {
        var first = await ServeUntilReadyThenTerminateAsync();
        var dataDir = Path.Combine(_dir, "data");
        Assert.True(File.Exists(Path.Combine(dataDir, "meta.db")), "the embedded default keeps metadata in data/meta.db");
        Assert.True(Directory.Exists(Path.Combine(dataDir, "objects")), "the embedded default keeps blocks in data/objects");
        var entriesAfterFirst = Entries(_dir);

        var second = await ServeUntilReadyThenTerminateAsync();

        Assert.Equal(first.Uuid, second.Uuid);
        Assert.Equal(first.Name, second.Name);
        Assert.Equal(entriesAfterFirst, Entries(_dir));
    }

    private async Task<(string Name, string Uuid)> ServeUntilReadyThenTerminateAsync()
    {
        var clock = Stopwatch.StartNew();
        await using var serve = ChildProcess.Start("appliance.dll", _dir, "serve");
        var ready = await serve.WaitForLineAsync(l => l.Contains("ready: volume ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        Assert.True(clock.Elapsed < ReadyWithin, $"ready after {clock.Elapsed.TotalSeconds:0.0} s (limit {ReadyWithin.TotalSeconds} s)");

        var match = ReadyLine().Match(ready);
        Assert.True(match.Success, $"unexpected ready line: {ready}");
        Assert.Contains(_dir, match.Groups["meta"].Value);

        serve.Terminate();
        var code = await serve.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(code == 0, $"exit code {code} after SIGTERM; output:\n{serve.Transcript}");
        return (match.Groups["name"].Value, match.Groups["uuid"].Value);
    }

    /// <summary>
    /// The working directory's entries and the data directory's, without what comes and goes while a volume is open
    /// (the block cache, SQLite's WAL and shared-memory files).
    /// </summary>
    private static List<string> Entries(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p))
            .Where(p => p.Count(c => c == '/') <= 1)
            .Where(p => !p.StartsWith("data/cache", StringComparison.Ordinal) && !p.EndsWith("-wal", StringComparison.Ordinal) && !p.EndsWith("-shm", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();

    [GeneratedRegex(@"ready: volume (?<name>\S+) \((?<uuid>[0-9a-f-]{36})\) meta=(?<meta>\S+) storage=(?<storage>\S+) serving: ")]
    private static partial Regex ReadyLine();
}
