using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Fs.Core.Tests.Objects;

/// <summary>
/// A real s3rver (npm package s3rver, installed by .ci/run) on a free loopback port with its own data directory. Tests
/// reach it through the standard AWS credential chain, so the fixture puts s3rver's fixed key pair in the environment.
/// It can be stopped and started again on the same port and data, as an outage of the object store.
/// </summary>
public sealed class S3rverServer : IAsyncLifetime
{
    /// <summary>s3rver's built-in access key id and secret.</summary>
    public const string AccessKey = "S3RVER";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly ScratchDirectory _data = new();
    private Process? _process;

    public int Port { get; } = FreePort();

    public Uri Endpoint => new($"http://127.0.0.1:{Port}");

    /// <summary>A storage URL for a bucket of its own (created on first use by the store).</summary>
    public string StorageUrl(string bucket, string prefix = "") =>
        $"s3://{bucket}{(prefix.Length > 0 ? "/" + prefix : "")}?endpoint={Uri.EscapeDataString(Endpoint.ToString())}";

    /// <summary>A fresh bucket name, valid for S3 and unique to the caller; <paramref name="purpose"/> is a short lowercase word.</summary>
    public static string NewBucket(string purpose) => $"{purpose}-{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", AccessKey);
        // Keeps the SDK from probing the EC2 metadata address for a region or role on machines that are not EC2.
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
        await StartAsync();
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        _data.Dispose();
    }

    /// <summary>Starts the server (again) on <see cref="Port"/> and waits until it accepts connections.</summary>
    public async Task StartAsync()
    {
        if (_process is not null)
            throw new InvalidOperationException("s3rver is already running");
        var start = new ProcessStartInfo("s3rver")
        {
            ArgumentList = { "--directory", _data.Path, "--address", "127.0.0.1", "--port", Port.ToString(), "--silent" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // s3rver 3.7.1 makes list continuation tokens with DES, which Node 17+ only offers through the legacy provider.
            Environment = { ["NODE_OPTIONS"] = "--openssl-legacy-provider" },
        };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("s3rver did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("s3rver is not installed: npm install -g s3rver@3.7.1 (.ci/run does this)", e);
        }
        _process = process;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();

        var deadline = Stopwatch.StartNew();
        while (!await AcceptsAsync())
        {
            if (process.HasExited)
            {
                _process = null;
                throw new InvalidOperationException($"s3rver exited with {process.ExitCode}: {await output}{await errors}");
            }
            if (deadline.Elapsed > StartTimeout)
                throw new TimeoutException($"s3rver did not listen on port {Port} within {StartTimeout.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    /// <summary>Kills the server at once, as a crash or a network cut would take it away.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process)
            return;
        _process = null;
        if (!process.HasExited)
            process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
    }

    private async Task<bool> AcceptsAsync()
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
