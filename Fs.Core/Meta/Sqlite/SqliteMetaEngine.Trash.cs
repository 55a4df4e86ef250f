using Fs.Core.Vfs;

namespace Fs.Core.Meta.Sqlite;

// The trash (names removed by unlink or replaced by rename are moved, not dropped) and named leases.
public sealed partial class SqliteMetaEngine
{
    /// <summary>Days of the stored format; names go to the trash while it is above zero.</summary>
    private int _trashDays;

    /// <summary>Inode ids and cookies an operation that may move a name into the trash reserves up front: one hour directory, two entries.</summary>
    private int TrashInodes => _trashDays > 0 ? 1 : 0;

    private int TrashCookies => _trashDays > 0 ? 2 : 0;

    /// <summary>Whether a name removed from <paramref name="dir"/> goes to the trash: the trash is on and the name is not in it already.</summary>
    private bool KeepsInTrash(InodeAttr dir) =>
        _trashDays > 0 && dir.Ino != TrashLayout.TrashIno && dir.Parent != TrashLayout.TrashIno;

    /// <summary>
    /// Moves a non-directory that just lost its entry (parent, name) into this hour's trash directory instead of dropping
    /// the name; the inode keeps its link count. When the trash already holds that very name (a hard link removed twice in
    /// one hour) the name is dropped as without a trash.
    /// </summary>
    private RemovedInode MoveToTrash(SqliteMetaConnection c, InodeAttr victim, ulong parent, string name, long now)
    {
        var hour = TrashHourDirectory(c, now);
        var entry = TrashLayout.EntryName(parent, victim.Ino, name);
        if (LoadEntry(c, hour, entry) is not null)
            return DropName(c, victim, now);
        InsertEntry(c, hour, entry, victim.Ino, victim.Type);
        var attr = victim with { Ctime = now };
        StoreInode(c, attr);
        return new RemovedInode(attr, false);
    }

    /// <summary>The trash directory of the hour of <paramref name="now"/>, creating it (and /.trash) when missing.</summary>
    private ulong TrashHourDirectory(SqliteMetaConnection c, long now)
    {
        var trash = LoadInode(c, TrashLayout.TrashIno);
        if (trash is null)
        {
            // Not counted against the inode limit: a full volume must still be able to remove files.
            trash = TrashLayout.NewDirectory(TrashLayout.TrashIno, FsLimits.RootIno, now);
            InsertInode(c, trash);
            AddCounter(c, "used_inodes", 1);
        }
        var name = TrashLayout.HourName(UnixTime.ToDateTime(now));
        if (LoadEntry(c, TrashLayout.TrashIno, name) is { } existing)
            return existing.Ino;
        var hour = TrashLayout.NewDirectory(_inodeIds.Take(), TrashLayout.TrashIno, now);
        InsertInode(c, hour);
        InsertEntry(c, TrashLayout.TrashIno, name, hour.Ino, FileType.Directory);
        Touch(c, trash, now, 1);
        AddCounter(c, "used_inodes", 1);
        return hour.Ino;
    }

    public async ValueTask<bool> TryAcquireLeaseAsync(string name, long session, TimeSpan duration, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var result = await WriteAsync(c =>
        {
            using (var r = c.Query("SELECT session, expires FROM leases WHERE name = ?1", name))
            {
                if (r.Read() && r.GetInt64(0) != session && r.GetInt64(1) > now)
                    return new Result<bool>(false);
            }
            c.Execute("INSERT INTO leases (name, session, expires) VALUES (?1, ?2, ?3) "
                + "ON CONFLICT (name) DO UPDATE SET session = excluded.session, expires = excluded.expires",
                name, session, now + (long)duration.TotalMilliseconds);
            return true;
        }, ct).ConfigureAwait(false);
        return result.Value;
    }
}
