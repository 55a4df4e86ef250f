using System.Collections.Concurrent;

namespace Fs.Core.Metrics;

/// <summary>
/// The door label of metrics and logs for the origin a door set with <c>FileSystem.EnterDoor</c>: a string origin is
/// taken as it is; a door object is named after its protocol assembly (Protocols.Nfs.* is "nfs"); no origin is "core"
/// (the CLI, background work).
/// </summary>
public static class DoorLabel
{
    public const string Core = "core";

    private static readonly ConcurrentDictionary<Type, string> Names = new();

    public static string Of(object? origin) => origin switch
    {
        null => Core,
        string name => name,
        _ => Names.GetOrAdd(origin.GetType(), NameOf),
    };

    private static string NameOf(Type type)
    {
        var space = type.Namespace ?? "";
        const string protocols = "Protocols.";
        if (space.StartsWith(protocols, StringComparison.Ordinal))
        {
            var rest = space[protocols.Length..];
            var dot = rest.IndexOf('.', StringComparison.Ordinal);
            return (dot < 0 ? rest : rest[..dot]).ToLowerInvariant();
        }
        return type.Name.ToLowerInvariant();
    }
}
