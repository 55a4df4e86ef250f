using Appliance.Cli;

namespace Appliance.Tests.Cli;

public sealed class CommandLineTests
{
    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await ApplianceCli.RunAsync(args, output, error, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("format", "--block-size", "4X")]
    [InlineData("format", "--block-size", "2G")]
    [InlineData("format", "--compress", "gzip")]
    [InlineData("format", "--trash-days", "-1")]
    [InlineData("serve", "--cache-size", "lots")]
    [InlineData("serve", "--log-level", "chatty")]
    [InlineData("info")]
    [InlineData("frobnicate")]
    [InlineData("status", "--no-such-flag")]
    [InlineData("dump")]
    [InlineData("warmup")]
    [InlineData("restore", "/.trash/x", "--all")]
    [InlineData("config", "--trash-days", "-2")]
    [InlineData("gc", "--min-age", "soon")]
    [InlineData]
    public async Task Usage_errors_exit_2_with_a_message_and_no_stack_trace(params string[] args)
    {
        var (code, _, error) = await RunAsync(args);

        Assert.Equal(2, code);
        Assert.StartsWith("error: ", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public async Task A_bad_size_names_the_option_and_the_value()
    {
        var (_, _, error) = await RunAsync("format", "--block-size", "4X");

        Assert.Contains("--block-size", error);
        Assert.Contains("'4X'", error);
    }

    [Fact]
    public async Task An_unknown_url_scheme_is_one_line_and_exit_2()
    {
        var (code, _, error) = await RunAsync("status", "--meta", "nosuch://volume");

        Assert.Equal(2, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains("nosuch", line);
    }

    [Theory]
    [InlineData("format")]
    [InlineData("serve")]
    [InlineData("status")]
    [InlineData("info")]
    [InlineData("fsck")]
    [InlineData("gc")]
    [InlineData("dump")]
    [InlineData("load")]
    [InlineData("config")]
    [InlineData("restore")]
    [InlineData("warmup")]
    [InlineData("bench")]
    [InlineData("destroy")]
    public async Task Every_command_takes_the_volume_location_options(string command)
    {
        var (code, output, _) = await RunAsync(command, "--help");

        Assert.Equal(0, code);
        foreach (var option in new[] { "--data", "--meta", "--storage", "--log-level" })
            Assert.Contains(option, output);
    }
}
