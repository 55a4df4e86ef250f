namespace Fs.Core.Vfs;

/// <summary>Who is asking: the credentials every permission check is made against.</summary>
public sealed record Caller(uint Uid, uint Gid, IReadOnlyList<uint> Groups)
{
    public static readonly Caller Root = new(0, 0, []);

    public Caller(uint uid, uint gid) : this(uid, gid, []) { }

    public bool IsRoot => Uid == 0;

    public bool InGroup(uint gid)
    {
        if (Gid == gid)
            return true;
        foreach (var g in Groups)
            if (g == gid)
                return true;
        return false;
    }
}
