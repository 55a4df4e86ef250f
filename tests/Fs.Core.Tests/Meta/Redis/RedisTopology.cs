using System.Diagnostics;

namespace Fs.Core.Tests.Meta.Redis;

/// <summary>
/// The two other shapes a volume's Redis can have, each real and started once per test process: a three-master Redis
/// Cluster (so every script must keep its keys in one slot) and a master behind a Sentinel (so the engine must find
/// the master through it).
/// </summary>
public static class RedisTopology
{
    public const string SentinelService = "appliance";

    private static readonly Lazy<Task<RedisServer[]>> ClusterNodes = new(StartClusterAsync);
    private static readonly Lazy<Task<(RedisServer Master, RedisServer Sentinel)>> SentinelPair = new(StartSentinelAsync);

    /// <summary>A metadata URL on the shared cluster (two of its nodes as seeds) for the volume prefixed {<paramref name="prefix"/>}.</summary>
    public static async Task<string> ClusterUrlAsync(string prefix)
    {
        var nodes = await ClusterNodes.Value;
        return $"redis://127.0.0.1:{nodes[0].Port},127.0.0.1:{nodes[1].Port}/0?prefix={prefix}";
    }

    /// <summary>A redis+sentinel:// URL on the shared sentinel for the volume prefixed {<paramref name="prefix"/>}.</summary>
    public static async Task<string> SentinelUrlAsync(string prefix)
    {
        var (_, sentinel) = await SentinelPair.Value;
        return $"redis+sentinel://127.0.0.1:{sentinel.Port}/0?service={SentinelService}&prefix={prefix}";
    }

    /// <summary>The master the sentinel names, to look at what the engine wrote.</summary>
    public static async Task<RedisServer> SentinelMasterAsync() => (await SentinelPair.Value).Master;

    public static async Task<RedisServer[]> ClusterAsync() => await ClusterNodes.Value;

    private static async Task<RedisServer[]> StartClusterAsync()
    {
        var nodes = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => RedisServer.StartAsync(false,
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")));
        var create = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        create.ArgumentList.Add("--cluster");
        create.ArgumentList.Add("create");
        foreach (var node in nodes)
            create.ArgumentList.Add($"127.0.0.1:{node.Port}");
        foreach (var arg in new[] { "--cluster-replicas", "0", "--cluster-yes" })
            create.ArgumentList.Add(arg);
        using (var cli = Process.Start(create)!)
        {
            var output = await cli.StandardOutput.ReadToEndAsync() + await cli.StandardError.ReadToEndAsync();
            await cli.WaitForExitAsync();
            if (cli.ExitCode != 0)
                throw new InvalidOperationException($"redis-cli --cluster create failed: {output}");
        }
        var deadline = Stopwatch.StartNew();
        foreach (var node in nodes)
        {
            while (!(await node.CommandAsync("CLUSTER INFO")).Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                if (deadline.Elapsed > TimeSpan.FromSeconds(30))
                    throw new TimeoutException($"the cluster did not reach state ok on port {node.Port}");
                await Task.Delay(50);
            }
        }
        return nodes;
    }

    private static async Task<(RedisServer, RedisServer)> StartSentinelAsync()
    {
        var master = await RedisServer.StartAsync();
        var sentinel = await RedisServer.StartSentinelAsync(master, SentinelService);
        var deadline = Stopwatch.StartNew();
        while (!(await sentinel.CommandAsync($"SENTINEL get-master-addr-by-name {SentinelService}")).Contains(master.Port.ToString(), StringComparison.Ordinal))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
                throw new TimeoutException("the sentinel does not name its master");
            await Task.Delay(50);
        }
        return (master, sentinel);
    }
}
