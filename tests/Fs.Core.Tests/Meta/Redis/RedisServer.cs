using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Fs.Core.Tests.Meta.Redis;

/// <summary>
/// A real redis-server on a free loopback port, in its own temporary directory, killed on dispose. Most tests share one
/// (<see cref="Shared"/>) and keep apart by key prefix; tests that stop or restart the server start their own.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private static readonly Lazy<Task<RedisServer>> SharedServer = new(() => StartAsync());
    private readonly bool _appendOnly;
    private readonly string[] _extraArgs;
    private Process? _process;
    private string? _configFile;

    private RedisServer(string dir, int port, bool appendOnly, string[] extraArgs)
    {
        Dir = dir;
        Port = port;
        _appendOnly = appendOnly;
        _extraArgs = extraArgs;
    }

    public string Dir { get; }

    public int Port { get; }

    /// <summary>The server every test may use; it lives until the test process exits.</summary>
    public static Task<RedisServer> Shared => SharedServer.Value;

    /// <summary>A metadata URL on this server for the volume whose keys start with {<paramref name="prefix"/>}.</summary>
    public string Url(string prefix) => $"redis://127.0.0.1:{Port}/0?prefix={prefix}";

    /// <summary>
    /// Starts a server; with <paramref name="appendOnly"/> it logs and fsyncs every write, so a killed server loses no
    /// reply it gave. <paramref name="extraArgs"/> are more redis-server options (e.g. cluster mode).
    /// </summary>
    public static async Task<RedisServer> StartAsync(bool appendOnly = false, params string[] extraArgs)
    {
        var dir = Path.Combine(Path.GetTempPath(), "redis-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var server = new RedisServer(dir, FreePort(), appendOnly, extraArgs);
        await server.RunAsync();
        // A server outliving the test process would hold its port and memory; the shared one is never disposed otherwise.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Kill();
        return server;
    }

    /// <summary>A Redis Sentinel on a free port watching <paramref name="master"/> as <paramref name="service"/> (quorum 1).</summary>
    public static async Task<RedisServer> StartSentinelAsync(RedisServer master, string service)
    {
        var dir = Path.Combine(Path.GetTempPath(), "redis-sentinel-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var config = Path.Combine(dir, "sentinel.conf");
        // Sentinel rewrites its configuration file, so each sentinel gets a file of its own.
        await File.WriteAllTextAsync(config, $"sentinel monitor {service} 127.0.0.1 {master.Port} 1\n");
        var server = new RedisServer(dir, FreePort(), appendOnly: false, ["--sentinel"]) { _configFile = config };
        await server.RunAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Kill();
        return server;
    }

    /// <summary>Starts the process again on the same port and directory (after <see cref="StopAsync"/>).</summary>
    public async Task RunAsync()
    {
        var start = new ProcessStartInfo("redis-server")
        {
            WorkingDirectory = Dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (_configFile is not null)
            start.ArgumentList.Add(_configFile);
        foreach (var arg in new[]
                 {
                     "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", Dir, "--save", "",
                     "--appendonly", _appendOnly ? "yes" : "no", "--appendfsync", "always", "--daemonize", "no",
                 }.Concat(_extraArgs))
            start.ArgumentList.Add(arg);
        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (!await PingAsync())
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode} on port {Port}");
            if (deadline.Elapsed > TimeSpan.FromSeconds(20))
                throw new TimeoutException($"redis-server did not answer on port {Port}");
            await Task.Delay(20);
        }
    }

    /// <summary>Kills the server abruptly (SIGKILL), as a crash would.</summary>
    public async Task StopAsync()
    {
        Kill();
        if (_process is { } p)
            await p.WaitForExitAsync();
    }

    /// <summary>Sends one inline command and returns the raw reply (used for INFO and FLUSHDB in tests).</summary>
    public async Task<string> CommandAsync(string command)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
        var buffer = new byte[1 << 16];
        var reply = new StringBuilder();
        do
        {
            var n = await stream.ReadAsync(buffer);
            if (n == 0)
                break;
            reply.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
        while (!IsComplete(reply.ToString()));
        return reply.ToString();
    }

    private static bool IsComplete(string reply)
    {
        if (reply.Length == 0 || !reply.EndsWith("\r\n", StringComparison.Ordinal))
            return false;
        if (reply[0] != '$')
            return true;
        var header = reply.IndexOf("\r\n", StringComparison.Ordinal);
        var length = int.Parse(reply.AsSpan(1, header - 1));
        return length < 0 || Encoding.UTF8.GetByteCount(reply) >= header + 2 + length + 2;
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            return (await CommandAsync("PING")).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private void Kill()
    {
        try
        {
            if (_process is { HasExited: false } p)
                p.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        if (Directory.Exists(Dir))
            Directory.Delete(Dir, recursive: true);
    }
}
