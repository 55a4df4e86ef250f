using System.Text.Json;
using Appliance.Cli;
using Fs.Core.Tests.Meta.Redis;
using Fs.Core.Tests.Objects;

namespace Appliance.Tests.EndToEnd;

/// <summary>
/// The test classes that run several appliance processes at once; one at a time, so the timings they check are not
/// measured on a machine their neighbours have loaded with more appliances.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ApplianceProcessesCollection
{
    public const string Name = "several appliance processes";
}

/// <summary>
/// One volume with metadata on a real redis-server and blocks on a real s3rver, for several <c>appliance serve</c>
/// processes at once; the first appliance started on it formats it.
/// </summary>
public sealed class SharedVolume : IAsyncLifetime
{
    private readonly S3rverServer _s3 = new();
    private RedisServer? _redis;

    public string Root { get; } = Directory.CreateTempSubdirectory("appliance-shared-").FullName;

    public string MetaUrl => (_redis ?? throw new InvalidOperationException("not started")).Url("shared-" + Path.GetFileName(Root));

    public string StorageUrl { get; } = S3rverServer.NewBucket("shared");

    public async Task InitializeAsync()
    {
        // s3rver first: it puts its key pair in this process's environment, which the appliance processes inherit.
        await _s3.InitializeAsync();
        _redis = await RedisServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_redis is not null)
            await _redis.DisposeAsync();
        await _s3.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }

    /// <summary>Starts an appliance named <paramref name="name"/> on the volume and waits until it is ready.</summary>
    public Task<ServingAppliance> StartApplianceAsync(string name, params string[] extraArgs) =>
        ServingAppliance.StartAsync(Path.Combine(Root, name), MetaUrl, _s3.StorageUrl(StorageUrl), extraArgs);

    /// <summary>`appliance status --json` on the volume, as an operator on any host runs it.</summary>
    public async Task<JsonElement> StatusAsync()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await ApplianceCli.RunAsync(["status", "--json", "--meta", MetaUrl], output, error, CancellationToken.None);
        Assert.True(code == 0, $"status exited {code}: {error}");
        return JsonDocument.Parse(output.ToString()).RootElement.Clone();
    }

    /// <summary>`appliance status` as a table, as an operator reads it.</summary>
    public async Task<string> StatusTableAsync()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await ApplianceCli.RunAsync(["status", "--meta", MetaUrl], output, error, CancellationToken.None);
        Assert.True(code == 0, $"status exited {code}: {error}");
        return output.ToString();
    }
}
