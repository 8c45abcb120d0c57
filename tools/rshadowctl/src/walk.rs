//! Guest page-table walks for reading another domain's code: x86-64 4- and
//! 5-level paging, as the record's `long64` mode implies.  Pure: the caller
//! gives the guest's CR3/CR4 and a reader of guest-physical memory.

const PRESENT: u64 = 1 << 0;
const PS: u64 = 1 << 7;
const ADDR: u64 = 0x000f_ffff_ffff_f000;
const CR4_LA57: u64 = 1 << 12;
const CR0_PG: u64 = 1 << 31;
const CR4_PAE: u64 = 1 << 5;

/// The guest-physical address of `va` through the page tables at `cr3`, or
/// `None` (not present, or not 4/5-level paging).  `read(gpa)` reads the
/// 8-byte entry at a guest-physical address.
pub fn translate(
    cr0: u64,
    cr3: u64,
    cr4: u64,
    va: u64,
    mut read: impl FnMut(u64) -> Option<u64>,
) -> Option<u64> {
    if cr0 & CR0_PG == 0 || cr4 & CR4_PAE == 0 {
        return None;
    }
    let levels = if cr4 & CR4_LA57 != 0 { 5 } else { 4 };
    // The address must be canonical for its width.
    let bits = 12 + 9 * levels;
    let top = (va as i64) >> (bits - 1);
    if top != 0 && top != -1 {
        return None;
    }
    let mut table = cr3 & ADDR;
    for level in (1..=levels).rev() {
        let shift = 12 + 9 * (level - 1);
        let idx = (va >> shift) & 0x1ff;
        let e = read(table + idx * 8)?;
        if e & PRESENT == 0 {
            return None;
        }
        // 1 GiB (level 3) and 2 MiB (level 2) pages.
        if (level == 2 || level == 3) && e & PS != 0 {
            let size = 1u64 << shift;
            return Some((e & ADDR & !(size - 1)) | (va & (size - 1)));
        }
        table = e & ADDR;
    }
    Some(table | (va & 0xfff))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const CR0: u64 = CR0_PG | 1;
    const CR4: u64 = CR4_PAE;

    /// A guest memory of page tables: gpa -> entry.
    fn mem(entries: &[(u64, u64)]) -> impl FnMut(u64) -> Option<u64> {
        let m: HashMap<u64, u64> = entries.iter().copied().collect();
        move |a| Some(*m.get(&a).unwrap_or(&0))
    }

    #[test]
    fn four_level_4k() {
        // va 0x401234: L4[0] -> 0x2000, L3[0] -> 0x3000, L2[2] -> 0x4000, L1[1] -> 0x9000
        let m = [
            (0x1000, 0x2000 | 7),
            (0x2000, 0x3000 | 7),
            (0x3000 + 2 * 8, 0x4000 | 7),
            (0x4000 + 8, 0x9000 | 5 | (1 << 63)),
        ];
        assert_eq!(
            translate(CR0, 0x1000 | 0x5, CR4, 0x401234, mem(&m)),
            Some(0x9234)
        );
        // not present at L1
        assert_eq!(translate(CR0, 0x1000, CR4, 0x402234, mem(&m)), None);
        // paging off, or not PAE
        assert_eq!(translate(0, 0x1000, CR4, 0x401234, mem(&m)), None);
        assert_eq!(translate(CR0, 0x1000, 0, 0x401234, mem(&m)), None);
    }

    #[test]
    fn large_pages_and_kernel_half() {
        // va 0xffffffff81000123: L4[511] -> 0x2000, L3[510] -> 0x3000,
        // L2[8] is a 2 MiB page at 0x1000000.
        let m = [
            (0x1000 + 511 * 8, 0x2000 | 3),
            (0x2000 + 510 * 8, 0x3000 | 3),
            (0x3000 + 8 * 8, 0x100_0000 | PS | 3),
        ];
        assert_eq!(
            translate(CR0, 0x1000, CR4, 0xffff_ffff_8100_0123, mem(&m)),
            Some(0x100_0123)
        );
        // a 1 GiB page at L3
        let m = [(0x1000 + 8, 0x2000 | 3), (0x2000, 0x4000_0000 | PS | 3)];
        assert_eq!(
            translate(CR0, 0x1000, CR4, 0x80_1234_5678, mem(&m)),
            Some(0x5234_5678)
        );
    }

    #[test]
    fn non_canonical_and_unreadable() {
        assert_eq!(
            translate(CR0, 0x1000, CR4, 0x0000_8000_0000_0000, mem(&[])),
            None
        );
        assert_eq!(translate(CR0, 0x1000, CR4, 0x1000, |_| None), None);
    }

    #[test]
    fn five_level() {
        // LA57: va 0x401000 goes through L5[0] first.
        let m = [
            (0x1000, 0x2000 | 3),
            (0x2000, 0x3000 | 3),
            (0x3000, 0x4000 | 3),
            (0x4000 + 2 * 8, 0x5000 | 3),
            (0x5000 + 8, 0x9000 | 3),
        ];
        assert_eq!(
            translate(CR0, 0x1000, CR4 | CR4_LA57, 0x401010, mem(&m)),
            Some(0x9010)
        );
        // canonical for 57 bits, not for 48
        assert_eq!(
            translate(CR0, 0x1000, CR4, 0x0100_0000_0000_0000, mem(&m)),
            None
        );
    }
}
