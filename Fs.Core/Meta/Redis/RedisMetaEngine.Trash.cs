using Fs.Core.Vfs;
using StackExchange.Redis;

namespace Fs.Core.Meta.Redis;

// The trash: names removed by unlink or replaced by rename are moved into /.trash/<hour>/, as the SQLite engine does.
public sealed partial class RedisMetaEngine
{
    /// <summary>Days of the stored format; names go to the trash while it is above zero.</summary>
    private int _trashDays;

    /// <summary>Whether a name removed from <paramref name="dir"/> goes to the trash: the trash is on and the name is not in it already.</summary>
    private bool KeepsInTrash(InodeAttr dir) =>
        _trashDays > 0 && dir.Ino != TrashLayout.TrashIno && dir.Parent != TrashLayout.TrashIno;

    /// <summary>
    /// Moves a non-directory that just lost its entry (parent, name) into this hour's trash directory instead of dropping
    /// the name; the inode keeps its link count. When the trash already holds that very name the name is dropped.
    /// </summary>
    private async Task<RemovedInode> MoveToTrashAsync(IDatabaseAsync db, RedisCommit c, InodeAttr victim, ulong parent, string name, long now)
    {
        var hour = await TrashHourDirectoryAsync(db, c, now).ConfigureAwait(false);
        var entry = TrashLayout.EntryName(parent, victim.Ino, name);
        if (await LoadEntryAsync(db, c, hour, entry).ConfigureAwait(false) is not null)
            return await DropNameAsync(db, c, victim, now).ConfigureAwait(false);
        InsertEntry(c, hour, entry, victim.Ino, victim.Type, await TakeIdAsync(db, _cookies).ConfigureAwait(false));
        var attr = victim with { Ctime = now };
        StoreInode(c, attr);
        return new RemovedInode(attr, false);
    }

    /// <summary>The trash directory of the hour of <paramref name="now"/>, creating it (and /.trash) when missing.</summary>
    private async Task<ulong> TrashHourDirectoryAsync(IDatabaseAsync db, RedisCommit c, long now)
    {
        var trash = await LoadInodeAsync(db, c, TrashLayout.TrashIno).ConfigureAwait(false);
        if (trash is null)
        {
            // Not counted against the inode limit: a full volume must still be able to remove files.
            trash = TrashLayout.NewDirectory(TrashLayout.TrashIno, FsLimits.RootIno, now);
            StoreInode(c, trash);
            AddCounter(c, "used_inodes", 1);
        }
        var name = TrashLayout.HourName(UnixTime.ToDateTime(now));
        if (await LoadEntryAsync(db, c, TrashLayout.TrashIno, name).ConfigureAwait(false) is { } existing)
            return existing.Ino;
        var hour = TrashLayout.NewDirectory(await TakeIdAsync(db, _inodeIds).ConfigureAwait(false), TrashLayout.TrashIno, now);
        StoreInode(c, hour);
        InsertEntry(c, TrashLayout.TrashIno, name, hour.Ino, FileType.Directory, await TakeIdAsync(db, _cookies).ConfigureAwait(false));
        Touch(c, trash, now, 1);
        AddCounter(c, "used_inodes", 1);
        return hour.Ino;
    }
}
