using System.CommandLine;
using System.CommandLine.Parsing;
using Appliance.Configuration;

namespace Appliance.Cli;

/// <summary>The options every command accepts: where the volume is, and logging.</summary>
internal sealed class GlobalOptions
{
    public Option<string?> Data { get; } = new("--data")
    {
        Description = "Data directory; meta, storage and cache default to places under it [default: ./data]",
        HelpName = "DIR",
        Recursive = true,
    };

    public Option<string?> Meta { get; } = new("--meta")
    {
        Description = "Metadata engine URL [default: sqlite:///DATA/meta.db]",
        HelpName = "URL",
        Recursive = true,
    };

    public Option<string?> Storage { get; } = new("--storage")
    {
        Description = "Object store URL [default: file:///DATA/objects, or the one recorded at format time]",
        HelpName = "URL",
        Recursive = true,
    };

    public Option<string?> LogLevel { get; } = new("--log-level")
    {
        Description = $"Minimum log level ({LogLevels.Accepted}) [default: information]",
        HelpName = "LEVEL",
        Recursive = true,
    };

    public Option<string?> LogFile { get; } = new("--log-file")
    {
        Description = "Also write logs to this file",
        HelpName = "FILE",
        Recursive = true,
    };

    public GlobalOptions()
    {
        LogLevel.Validators.Add(result =>
        {
            var text = result.GetValueOrDefault<string?>();
            if (text is not null && !LogLevels.TryParse(text, out _))
                result.AddError($"--log-level: '{text}' is not a log level ({LogLevels.Accepted})");
        });
    }

    public void AddTo(Command root)
    {
        root.Options.Add(Data);
        root.Options.Add(Meta);
        root.Options.Add(Storage);
        root.Options.Add(LogLevel);
        root.Options.Add(LogFile);
    }

    /// <summary>An option taking a size (4M, 64K, 1G or bytes); a malformed or out-of-range size is a parse error.</summary>
    public static Option<long?> Size(string name, string description, long min = 0, long max = long.MaxValue) => new(name)
    {
        Description = description,
        HelpName = "SIZE",
        CustomParser = result => ParseSize(result, name, min, max),
    };

    private static long? ParseSize(ArgumentResult result, string name, long min, long max)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (!ByteSize.TryParse(text, out var bytes))
        {
            result.AddError($"{name}: '{text}' is not a size (use bytes or a suffix: 64K, 4M, 1G)");
            return null;
        }
        if (bytes < min || bytes > max)
        {
            result.AddError($"{name}: {text} is out of range ({ByteSize.Format(min)} to {ByteSize.Format(max)})");
            return null;
        }
        return bytes;
    }
}
