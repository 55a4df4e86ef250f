using System.Text.Json;
using System.Text.Json.Serialization;

namespace Appliance.Cli;

/// <summary>The one JSON style of every --json output: camelCase, indented, enums as names.</summary>
internal static class CliJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static Task WriteAsync(TextWriter output, object value) =>
        output.WriteLineAsync(JsonSerializer.Serialize(value, Options));
}
