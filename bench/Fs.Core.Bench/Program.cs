using System.Diagnostics;
using Fs.Core.Meta.Redis;
using Fs.Core.Metrics;
using Fs.Core.Vfs;
using StackExchange.Redis;

namespace Fs.Core.Bench;

/// <summary>
/// Measures the core through the Vfs API against the local disk in the same run: 1 GiB sequential write + fsync and
/// cold read (vs dd on the same file system), and create / stat / unlink of many files on the SQLite engine and, with
/// --meta-url, on that engine too (a Redis the caller runs: each run formats a volume under a fresh key prefix there and
/// removes it afterwards, and prints the Redis commands and scripts per operation). --meta-only skips the data part.
/// With --storage-url (e.g. s3://bucket?endpoint=...) the file data goes to that object store instead, and only the
/// write and cold read are measured: the peer to compare with runs outside (bench/s3fs-peer.sh runs s3fs).
/// Usage: Fs.Core.Bench [--dir DIR] [--size-mib N] [--files N] [--runs N] [--meta-url redis://host:port/db] [--meta-only]
///        [--storage-url URL] [--memory-cache-mib N]
/// --memory-cache-mib sizes the memory cache of the write and cold read (the library's default otherwise).
/// </summary>
public static class Program
{
    private const int IoSize = 1 << 20;

    /// <summary>Files the metadata figures create, stat and unlink unmeasured first.</summary>
    private const int WarmUpFiles = 3000;

    /// <summary>CPU seconds this process spent on the last Vfs write and cold read: on a shared machine they say more than wall time.</summary>
    private static double s_writeCpu, s_readCpu;

    private static long? s_memoryCacheBytes;

    public static async Task<int> Main(string[] args)
    {
        ThreadPool.SetMinThreads(64, 64);
        var dir = Path.GetFullPath(Arg(args, "--dir") ?? Path.Combine(Environment.CurrentDirectory, "bench-data"));
        var sizeMiB = int.Parse(Arg(args, "--size-mib") ?? "1024");
        var files = int.Parse(Arg(args, "--files") ?? "10000");
        var runs = int.Parse(Arg(args, "--runs") ?? "1");
        var storageUrl = Arg(args, "--storage-url");
        var metaUrl = Arg(args, "--meta-url");
        var metaOnly = args.Contains("--meta-only");
        if (Arg(args, "--memory-cache-mib") is { } memoryCacheMiB)
            s_memoryCacheBytes = long.Parse(memoryCacheMiB) << 20;
        Directory.CreateDirectory(dir);
        var canDropCaches = File.Exists("/proc/sys/vm/drop_caches") && Environment.UserName == "root";
        Console.WriteLine($"dir {dir}, {sizeMiB} MiB, {files} files, {runs} run(s), cold reads {(canDropCaches ? "with" : "WITHOUT")} dropped page cache"
            + (storageUrl is null ? "" : $", data in {storageUrl}"));

        if (metaOnly)
        {
            for (var run = 1; run <= runs; run++)
            {
                Console.WriteLine($"--- run {run}");
                await SqliteMetadataAsync(dir, run, files);
                if (metaUrl is not null)
                    await RedisMetadataAsync(metaUrl, dir, files);
            }
            return 0;
        }

        var pattern = new byte[64 << 20];
        new Random(42).NextBytes(pattern);
        if (storageUrl is not null)
        {
            await WarmUpAsync(dir, pattern, storageUrl);
            for (var run = 1; run <= runs; run++)
            {
                Console.WriteLine($"--- run {run}");
                var volume = Path.Combine(dir, $"volume-{run}");
                if (Directory.Exists(volume))
                    Directory.Delete(volume, recursive: true);
                Directory.CreateDirectory(volume);
                var (write, read) = await WriteAndColdReadAsync(volume, storageUrl, pattern, sizeMiB, canDropCaches);
                Console.WriteLine($"{"",-28}{"seconds",10}{"MiB/s",10}{"cpu s",8}");
                Console.WriteLine($"{"vfs write+fsync (store)",-28}{write,10:F2}{sizeMiB / write,10:F0}{s_writeCpu,8:F2}");
                Console.WriteLine($"{"vfs cold read (store)",-28}{read,10:F2}{sizeMiB / read,10:F0}{s_readCpu,8:F2}");
                Directory.Delete(volume, recursive: true);
            }
            return 0;
        }

        var source = Path.Combine(dir, "source.bin");
        await WriteSourceAsync(source, pattern, sizeMiB);
        await WarmUpAsync(dir, pattern, storageUrl: null);

        for (var run = 1; run <= runs; run++)
        {
            Console.WriteLine($"--- run {run}");
            var ddTarget = Path.Combine(dir, "dd.bin");
            var ddWrite = Dd($"if={source} of={ddTarget} bs=1M conv=fsync");
            if (canDropCaches)
                DropCaches();
            var ddRead = Dd($"if={ddTarget} of=/dev/null bs=1M");
            File.Delete(ddTarget);

            var volume = Path.Combine(dir, $"volume-{run}");
            if (Directory.Exists(volume))
                Directory.Delete(volume, recursive: true);
            Directory.CreateDirectory(volume);
            var (vfsWrite, vfsRead) = await WriteAndColdReadAsync(volume, $"file://{volume}/objects", pattern, sizeMiB, canDropCaches);
            var options = new FileSystemOptions { MetaUrl = $"sqlite://{volume}/meta.db" };

            var mib = (double)sizeMiB;
            Console.WriteLine($"{"",-28}{"seconds",10}{"MiB/s",10}{"ratio",8}{"cpu s",8}   load {LoadAverage()}");
            Console.WriteLine($"{"dd write+fsync (disk)",-28}{ddWrite,10:F2}{mib / ddWrite,10:F0}");
            Console.WriteLine($"{"vfs write+fsync",-28}{vfsWrite,10:F2}{mib / vfsWrite,10:F0}{ddWrite / vfsWrite,8:F2}{s_writeCpu,8:F2}");
            Console.WriteLine($"{"dd cold read (disk)",-28}{ddRead,10:F2}{mib / ddRead,10:F0}");
            Console.WriteLine($"{"vfs cold read",-28}{vfsRead,10:F2}{mib / vfsRead,10:F0}{ddRead / vfsRead,8:F2}{s_readCpu,8:F2}");

            await MetadataAsync("sqlite", options, files);
            Directory.Delete(volume, recursive: true);
            if (metaUrl is not null)
                await RedisMetadataAsync(metaUrl, dir, files);
        }
        File.Delete(source);
        return 0;
    }

    /// <summary>Formats a volume with its data at <paramref name="storageUrl"/>, writes the file and fsyncs it, then reads it back from a new instance (empty cache).</summary>
    private static async Task<(double Write, double Read)> WriteAndColdReadAsync(string volume, string storageUrl, byte[] pattern, int sizeMiB, bool canDropCaches, bool quiet = false)
    {
        var options = new FileSystemOptions { MetaUrl = $"sqlite://{volume}/meta.db", StorageUrl = storageUrl };
        if (s_memoryCacheBytes is { } memoryCache)
            options = options with { MemoryCacheBytes = memoryCache };
        await FileSystem.FormatAsync(new FormatOptions { Name = "bench", MetaUrl = options.MetaUrl, StorageUrl = storageUrl });

        double write;
        ulong ino;
        await using (var fs = await FileSystem.OpenAsync(options))
        {
            var cpu = CpuSeconds();
            var sw = Stopwatch.StartNew();
            var (attr, handle) = (await fs.CreateAsync(Caller.Root, 1, "big.bin", 0x1A4, OpenFlags.ReadWrite)).Value;
            ino = attr.Ino;
            for (long off = 0; off < (long)sizeMiB << 20; off += IoSize)
            {
                var at = (int)(off % pattern.Length);
                Check((await fs.WriteAsync(handle, off, pattern.AsMemory(at, IoSize))).Error, "write");
            }
            Check(await fs.FsyncAsync(handle), "fsync");
            write = sw.Elapsed.TotalSeconds;
            s_writeCpu = CpuSeconds() - cpu;
            Check(await fs.ReleaseAsync(handle), "release");
        }

        if (canDropCaches)
            DropCaches();
        await using (var fs = await FileSystem.OpenAsync(options))
        {
            // Two buffers: each read's data is checked on another thread while the next read goes on, so the check is
            // off the reader's path (dd, the peer, checks nothing).
            byte[][] buffers = [new byte[IoSize], new byte[IoSize]];
            var check = Task.CompletedTask;
            var cpu = CpuSeconds();
            var sw = Stopwatch.StartNew();
            var handle = (await fs.OpenAsync(Caller.Root, ino, OpenFlags.ReadOnly)).Value;
            long total = 0;
            for (var i = 0; ; i++)
            {
                var buffer = buffers[i % 2];
                var n = (await fs.ReadAsync(handle, total, buffer)).Value;
                await check;
                if (n == 0)
                    break;
                var offset = total;
                check = Task.Run(() =>
                {
                    var at = (int)(offset % pattern.Length);
                    if (!buffer.AsSpan(0, n).SequenceEqual(pattern.AsSpan(at, n)))
                        throw new InvalidOperationException($"read back wrong data at offset {offset}");
                });
                total += n;
            }
            var read = sw.Elapsed.TotalSeconds;
            s_readCpu = CpuSeconds() - cpu;
            await fs.ReleaseAsync(handle);
            if (!quiet)
                Console.WriteLine($"cache after the cold read: {fs.CacheStats}");
            if (total != (long)sizeMiB << 20)
                throw new InvalidOperationException($"read {total} bytes, expected {(long)sizeMiB << 20}");
            return (write, read);
        }
    }

    /// <summary>
    /// Writes and reads back a smaller file on a volume of its own first, so that the code of the write and read paths
    /// is compiled and tiered up before the measured runs, as it is in an appliance that has been running a while (dd has
    /// nothing to compile). With <paramref name="storageUrl"/> the warm-up writes there too, so that the object store's
    /// client code is warm as well (an S3 client's request pipeline is thousands of methods).
    /// </summary>
    private static async Task WarmUpAsync(string dir, byte[] pattern, string? storageUrl)
    {
        var volume = Path.Combine(dir, "volume-warmup");
        for (var round = 0; round < 3; round++)
        {
            if (Directory.Exists(volume))
                Directory.Delete(volume, recursive: true);
            Directory.CreateDirectory(volume);
            await WriteAndColdReadAsync(volume, storageUrl ?? $"file://{volume}/objects", pattern, 128, canDropCaches: false, quiet: true);
        }
        Directory.Delete(volume, recursive: true);
    }

    private static async Task SqliteMetadataAsync(string dir, int run, int files)
    {
        var volume = Path.Combine(dir, $"volume-{run}");
        if (Directory.Exists(volume))
            Directory.Delete(volume, recursive: true);
        Directory.CreateDirectory(volume);
        var options = new FileSystemOptions { MetaUrl = $"sqlite://{volume}/meta.db", StorageUrl = $"file://{volume}/objects" };
        await FileSystem.FormatAsync(new FormatOptions { Name = "bench", MetaUrl = options.MetaUrl, StorageUrl = options.StorageUrl! });
        await MetadataAsync("sqlite", options, files);
        Directory.Delete(volume, recursive: true);
    }

    /// <summary>The metadata figures on a Redis the caller runs, in a volume under a fresh key prefix that is removed afterwards.</summary>
    private static async Task RedisMetadataAsync(string url, string dir, int files)
    {
        var prefix = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var volumeUrl = url + (url.Contains('?') ? "&" : "?") + "prefix=" + prefix;
        var objects = Path.Combine(dir, "redis-objects");
        var options = new FileSystemOptions { MetaUrl = volumeUrl, StorageUrl = $"file://{objects}" };
        await FileSystem.FormatAsync(new FormatOptions { Name = "bench", MetaUrl = options.MetaUrl, StorageUrl = options.StorageUrl! });
        var parsed = RedisMetaUrl.Parse(volumeUrl);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(parsed.Options);
        var server = redis.GetServers().First(s => !s.IsReplica);
        try
        {
            await MetadataAsync($"redis ({parsed.Display})", options, files, server);
        }
        finally
        {
            await foreach (var key in server.KeysAsync(parsed.Options.DefaultDatabase ?? 0, "\\{" + prefix + "\\}*", 1000))
                await redis.GetDatabase(parsed.Options.DefaultDatabase ?? 0).KeyDeleteAsync(key);
            Directory.Delete(objects, recursive: true);
        }
    }

    /// <summary>
    /// Creates (and releases), stats (lookup + getattr) and unlinks <paramref name="files"/> files from one thread. With a
    /// Redis <paramref name="server"/>, also the requests the appliance sent per operation (its round trips), the scripts
    /// Redis ran per operation and the commands it executed per operation (those inside scripts included, as INFO counts them).
    /// </summary>
    private static async Task MetadataAsync(string label, FileSystemOptions options, int files, IServer? server = null)
    {
        await using var fs = await FileSystem.OpenAsync(options);
        var engine = (fs.Meta as InstrumentedMetaEngine)?.Inner as RedisMetaEngine;
        var names = Enumerable.Range(0, files).Select(i => $"f{i:D6}").ToArray();

        // Unmeasured first: the same operations on a few thousand files in a directory of their own, then a pause, so
        // that the code of these paths has been compiled and tiered up (as in an appliance that has been running) and
        // what is measured is the engine and its round trips, not the JIT.
        var warmDir = (await fs.MkdirAsync(Caller.Root, 1, "warm-up", 0x1ED)).Value.Ino;
        for (var i = 0; i < WarmUpFiles; i++)
        {
            var (_, h) = (await fs.CreateAsync(Caller.Root, warmDir, $"w{i}", 0x1A4, OpenFlags.WriteOnly | OpenFlags.Exclusive)).Value;
            await fs.ReleaseAsync(h);
            Check((await fs.GetAttrAsync((await fs.LookupAsync(Caller.Root, warmDir, $"w{i}")).Value.Ino)).Error, "getattr");
        }
        for (var i = 0; i < WarmUpFiles; i++)
            Check(await fs.UnlinkAsync(Caller.Root, warmDir, $"w{i}"), "unlink");
        Check(await fs.RmdirAsync(Caller.Root, 1, "warm-up"), "rmdir");
        await Task.Delay(1000);
        var rows = new List<(string Op, double Seconds, double Requests, double Commands, double Scripts)>();
        async Task Measure(string op, Func<string, Task> body)
        {
            var (scripts, commands) = server is null ? (0, 0) : await CommandCountsAsync(server);
            var requests = engine?.RequestsSent ?? 0;
            var sw = Stopwatch.StartNew();
            foreach (var name in names)
                await body(name);
            var seconds = sw.Elapsed.TotalSeconds;
            var requestsAfter = engine?.RequestsSent ?? 0;
            var (scriptsAfter, commandsAfter) = server is null ? (0, 0) : await CommandCountsAsync(server);
            rows.Add((op, seconds, (double)(requestsAfter - requests) / files, (double)(commandsAfter - commands) / files,
                (double)(scriptsAfter - scripts) / files));
        }
        await Measure("create (+release)", async name =>
        {
            var (_, h) = (await fs.CreateAsync(Caller.Root, 1, name, 0x1A4, OpenFlags.WriteOnly | OpenFlags.Exclusive)).Value;
            await fs.ReleaseAsync(h);
        });
        await Measure("stat (lookup+getattr)", async name =>
        {
            var a = (await fs.LookupAsync(Caller.Root, 1, name)).Value;
            Check((await fs.GetAttrAsync(a.Ino)).Error, "getattr");
        });
        await Measure("unlink", async name => Check(await fs.UnlinkAsync(Caller.Root, 1, name), "unlink"));
        Console.WriteLine($"{label}: {files} files from one thread");
        Console.WriteLine(server is null
            ? $"{"",-28}{"ops/s",10}"
            : $"{"",-28}{"ops/s",10}{"requests/op",13}{"scripts/op",12}{"cmds/op",10}");
        foreach (var (op, seconds, requests, commands, scripts) in rows)
            Console.WriteLine(server is null
                ? $"{op,-28}{files / seconds,10:F0}"
                : $"{op,-28}{files / seconds,10:F0}{requests,13:F2}{scripts,12:F2}{commands,10:F1}");
    }

    /// <summary>
    /// EVAL and EVALSHA calls Redis has run, and all commands it has executed, from INFO commandstats. A script cannot call
    /// a script, so each script is one request; commands include those a script ran.
    /// </summary>
    private static async Task<(long Scripts, long Commands)> CommandCountsAsync(IServer server)
    {
        long scripts = 0, commands = 0;
        foreach (var group in await server.InfoAsync("commandstats"))
            foreach (var (key, value) in group)
            {
                var calls = long.Parse(value.Split(',')[0].Split('=')[1]);
                commands += calls;
                if (key is "cmdstat_eval" or "cmdstat_evalsha")
                    scripts += calls;
            }
        return (scripts, commands);
    }

    private static async Task WriteSourceAsync(string path, byte[] pattern, int sizeMiB)
    {
        await using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0);
        for (long off = 0; off < (long)sizeMiB << 20; off += IoSize)
            await f.WriteAsync(pattern.AsMemory((int)(off % pattern.Length), IoSize));
    }

    private static double Dd(string arguments)
    {
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(new ProcessStartInfo("dd", arguments) { RedirectStandardError = true })!;
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"dd {arguments} failed with {p.ExitCode}");
        return sw.Elapsed.TotalSeconds;
    }

    private static double CpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "?";

    private static void DropCaches()
    {
        using (var sync = Process.Start("sync"))
            sync.WaitForExit();
        File.WriteAllText("/proc/sys/vm/drop_caches", "3");
    }

    private static void Check(Errno errno, string what)
    {
        if (errno != Errno.OK)
            throw new InvalidOperationException($"{what} failed: {errno}");
    }

    private static string? Arg(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
