using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Protocols.WebDav;

/// <summary>One WebDAV user: the volume identity its requests act as.</summary>
public sealed record WebDavUser(string Name, uint Uid, uint Gid, IReadOnlyList<uint> Groups);

/// <summary>
/// The users file: one user per line, "name:uid:gid[,group...]:iterations:salt:hash" with a base64 salt and a base64
/// PBKDF2-HMAC-SHA256 hash of the password. Blank lines and lines starting with '#' are ignored.
/// </summary>
public sealed class WebDavUsers
{
    public const int DefaultIterations = 210_000;
    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    /// <summary>How long a checked password is remembered, so each request does not pay for PBKDF2 again.</summary>
    private static readonly TimeSpan VerifiedLifetime = TimeSpan.FromMinutes(5);

    private readonly Dictionary<string, Entry> _users;
    private readonly ConcurrentDictionary<string, (WebDavUser User, DateTime Until)> _verified = new(StringComparer.Ordinal);

    private sealed record Entry(WebDavUser User, int Iterations, byte[] Salt, byte[] Hash);

    private WebDavUsers(Dictionary<string, Entry> users) => _users = users;

    public int Count => _users.Count;

    /// <summary>Reads a users file; throws <see cref="FormatException"/> naming the bad line.</summary>
    public static async Task<WebDavUsers> LoadAsync(string path, CancellationToken ct = default)
    {
        var users = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in await File.ReadAllLinesAsync(path, ct).ConfigureAwait(false))
        {
            lineNumber++;
            var text = line.Trim();
            if (text.Length == 0 || text.StartsWith('#'))
                continue;
            var entry = ParseLine(text) ?? throw new FormatException($"{path}:{lineNumber}: expected name:uid:gid[,groups]:iterations:salt:hash");
            users[entry.User.Name] = entry;
        }
        return new WebDavUsers(users);
    }

    private static Entry? ParseLine(string line)
    {
        var f = line.Split(':');
        if (f.Length != 6 || f[0].Length == 0)
            return null;
        var ids = f[2].Split(',');
        if (!uint.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var uid) ||
            !uint.TryParse(ids[0], NumberStyles.None, CultureInfo.InvariantCulture, out var gid) ||
            !int.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < 1)
            return null;
        var groups = new List<uint>();
        foreach (var g in ids.Skip(1))
        {
            if (!uint.TryParse(g, NumberStyles.None, CultureInfo.InvariantCulture, out var group))
                return null;
            groups.Add(group);
        }
        try
        {
            return new Entry(new WebDavUser(f[0], uid, gid, groups), iterations, Convert.FromBase64String(f[4]), Convert.FromBase64String(f[5]));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The user when the password is right; null otherwise. Takes the same time for unknown users as for wrong passwords.</summary>
    public WebDavUser? Verify(string name, string password)
    {
        var key = CacheKey(name, password);
        if (_verified.TryGetValue(key, out var hit) && hit.Until > DateTime.UtcNow)
            return hit.User;
        if (!_users.TryGetValue(name, out var entry))
        {
            Rfc2898DeriveBytes.Pbkdf2(password, new byte[SaltBytes], DefaultIterations, HashAlgorithmName.SHA256, HashBytes);
            return null;
        }
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, entry.Salt, entry.Iterations, HashAlgorithmName.SHA256, entry.Hash.Length);
        if (!CryptographicOperations.FixedTimeEquals(hash, entry.Hash))
            return null;
        _verified[key] = (entry.User, DateTime.UtcNow + VerifiedLifetime);
        return entry.User;
    }

    private static string CacheKey(string name, string password) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(name + "\0" + password)));

    /// <summary>A users-file line for a new user with a fresh random salt.</summary>
    public static string FormatLine(string name, string password, uint uid, uint gid, IReadOnlyList<uint>? groups = null, int iterations = DefaultIterations)
    {
        if (name.Length == 0 || name.Contains(':') || name.Any(char.IsControl))
            throw new ArgumentException("a user name cannot be empty or hold ':' or control characters", nameof(name));
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        var ids = string.Join(',', new[] { gid }.Concat(groups ?? []).Select(g => g.ToString(CultureInfo.InvariantCulture)));
        return string.Create(CultureInfo.InvariantCulture, $"{name}:{uid}:{ids}:{iterations}:{Convert.ToBase64String(salt)}:{Convert.ToBase64String(hash)}");
    }

    /// <summary>Adds a user to the file, or replaces the line of a user of that name (the `users add` command).</summary>
    public static async Task AddOrReplaceAsync(string path, string name, string password, uint uid, uint gid, IReadOnlyList<uint>? groups = null, CancellationToken ct = default)
    {
        var line = FormatLine(name, password, uid, gid, groups);
        var lines = File.Exists(path) ? (await File.ReadAllLinesAsync(path, ct).ConfigureAwait(false)).ToList() : [];
        var index = lines.FindIndex(l => l.StartsWith(name + ":", StringComparison.Ordinal));
        if (index >= 0)
            lines[index] = line;
        else
            lines.Add(line);
        var temp = path + ".tmp";
        await File.WriteAllLinesAsync(temp, lines, ct).ConfigureAwait(false);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, path, overwrite: true);
    }
}
