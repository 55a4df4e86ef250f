namespace Appliance.Tests.EndToEnd;

/// <summary>The built binary as a shell sees it: what it prints and its exit code.</summary>
public sealed class CommandLineProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("appliance-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Version_prints_the_product_version()
    {
        await using var cli = ChildProcess.Start("appliance.dll", _dir, "--version");

        Assert.Equal(0, await cli.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.StartsWith("0.1.0", cli.Transcript);
    }

    [Fact]
    public async Task Serve_with_an_unknown_url_scheme_says_so_in_one_line_and_exits_2()
    {
        await using var serve = ChildProcess.Start("appliance.dll", _dir, "serve", "--meta", "nosuch://volume");

        Assert.Equal(2, await serve.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var line = Assert.Single(serve.Transcript.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains("nosuch", line);
    }
}
