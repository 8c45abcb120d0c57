//! Guest page-table walks, from dom0, in every paging mode Xen 4.17 offers
//! an HVM guest: 2-level (32-bit, with 4 MiB pages under CR4.PSE), PAE
//! (3-level) and long mode (4-level, and 5-level under CR4.LA57, which
//! Xen 4.17 does not offer but a walk costs nothing to know).  Pure: the
//! caller gives the vCPU's registers and a reader of guest-physical memory.

const PRESENT: u64 = 1 << 0;
const PS: u64 = 1 << 7;
const ADDR: u64 = 0x000f_ffff_ffff_f000;
const CR0_PG: u64 = 1 << 31;
const CR4_PSE: u64 = 1 << 4;
const CR4_PAE: u64 = 1 << 5;
const CR4_LA57: u64 = 1 << 12;
const EFER_LMA: u64 = 1 << 10;

/// A vCPU's paging registers, as Xen's HVM `CPU` record gives them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    pub cr0: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub efer: u64,
}

/// How a vCPU translates addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paging {
    /// CR0.PG clear: linear addresses are guest-physical.
    Off,
    /// 32-bit paging: 4-byte entries, 4 MiB pages when `pse`.
    TwoLevel { pse: bool },
    /// PAE: a 4-entry page-directory-pointer table, then 2 levels.
    Pae,
    /// IA-32e: 4 or 5 levels of 8-byte entries.
    Long { levels: u32 },
}

impl Paging {
    pub fn of(r: &Regs) -> Paging {
        if r.cr0 & CR0_PG == 0 {
            Paging::Off
        } else if r.cr4 & CR4_PAE == 0 {
            Paging::TwoLevel {
                pse: r.cr4 & CR4_PSE != 0,
            }
        } else if r.efer & EFER_LMA == 0 {
            Paging::Pae
        } else if r.cr4 & CR4_LA57 != 0 {
            Paging::Long { levels: 5 }
        } else {
            Paging::Long { levels: 4 }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Paging::Off => "paging off",
            Paging::TwoLevel { .. } => "2-level",
            Paging::Pae => "PAE",
            Paging::Long { levels: 5 } => "5-level",
            Paging::Long { .. } => "4-level",
        }
    }
}

/// A resolved address: where it went, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    pub va: u64,
    pub cr3: u64,
    pub paging: Paging,
    pub gpa: u64,
    /// The size of the page that maps it: 4 KiB, 2 or 4 MiB, 1 GiB.
    pub page_size: u64,
}

/// `va` through the page tables at `cr3` in `paging` mode.  `read(gpa,
/// width)` reads a 4- or 8-byte entry.  The error says where the walk
/// stopped.
pub fn translate_with(
    paging: Paging,
    cr3: u64,
    va: u64,
    mut read: impl FnMut(u64, usize) -> Option<u64>,
) -> Result<Translation, String> {
    let done = |gpa: u64, page_size: u64| Translation {
        va,
        cr3,
        paging,
        gpa,
        page_size,
    };
    let mut entry = |gpa: u64, width: usize, level: u32| -> Result<u64, String> {
        let e = read(gpa, width).ok_or_else(|| {
            format!("the level-{level} table at guest-physical {gpa:#x} cannot be read")
        })?;
        if e & PRESENT == 0 {
            return Err(format!(
                "{va:#x} is not mapped: the level-{level} entry at {gpa:#x} is {e:#x}, not present"
            ));
        }
        Ok(e)
    };
    match paging {
        Paging::Off => Ok(done(va, 0x1000)),
        Paging::TwoLevel { pse } => {
            if va > 0xffff_ffff {
                return Err(format!("{va:#x} is beyond 32-bit paging's 4 GiB"));
            }
            let pde = entry((cr3 & 0xffff_f000) + ((va >> 22) & 0x3ff) * 4, 4, 2)?;
            if pse && pde & PS != 0 {
                // Bits 13-20 of a 4 MiB PDE are physical address bits 32-39.
                let base = (pde & 0xffc0_0000) | ((pde & 0x001f_e000) << 19);
                return Ok(done(base | (va & 0x3f_ffff), 0x40_0000));
            }
            let pte = entry((pde & 0xffff_f000) + ((va >> 12) & 0x3ff) * 4, 4, 1)?;
            Ok(done((pte & 0xffff_f000) | (va & 0xfff), 0x1000))
        }
        Paging::Pae => {
            if va > 0xffff_ffff {
                return Err(format!("{va:#x} is beyond PAE paging's 4 GiB"));
            }
            let pdpte = entry((cr3 & 0xffff_ffe0) + ((va >> 30) & 3) * 8, 8, 3)?;
            let pde = entry((pdpte & ADDR) + ((va >> 21) & 0x1ff) * 8, 8, 2)?;
            if pde & PS != 0 {
                return Ok(done(
                    (pde & ADDR & !0x1f_ffff) | (va & 0x1f_ffff),
                    0x20_0000,
                ));
            }
            let pte = entry((pde & ADDR) + ((va >> 12) & 0x1ff) * 8, 8, 1)?;
            Ok(done((pte & ADDR) | (va & 0xfff), 0x1000))
        }
        Paging::Long { levels } => {
            // The address must be canonical for its width.
            let bits = 12 + 9 * levels;
            let top = (va as i64) >> (bits - 1);
            if top != 0 && top != -1 {
                return Err(format!(
                    "{va:#x} is not canonical for {levels}-level paging"
                ));
            }
            let mut table = cr3 & ADDR;
            for level in (1..=levels).rev() {
                let shift = 12 + 9 * (level - 1);
                let e = entry(table + ((va >> shift) & 0x1ff) * 8, 8, level)?;
                // 1 GiB (level 3) and 2 MiB (level 2) pages.
                if (level == 2 || level == 3) && e & PS != 0 {
                    let size = 1u64 << shift;
                    return Ok(done((e & ADDR & !(size - 1)) | (va & (size - 1)), size));
                }
                table = e & ADDR;
            }
            Ok(done(table | (va & 0xfff), 0x1000))
        }
    }
}

/// The guest-physical address of `va` in long mode through the page tables
/// at `regs.cr3`, or `None` (not present, or not long mode).  `read(gpa)`
/// reads the 8-byte entry at a guest-physical address.
pub fn translate(regs: &Regs, va: u64, mut read: impl FnMut(u64) -> Option<u64>) -> Option<u64> {
    let paging = Paging::of(regs);
    if !matches!(paging, Paging::Long { .. }) {
        return None;
    }
    translate_with(paging, regs.cr3, va, |gpa, _| read(gpa))
        .ok()
        .map(|t| t.gpa)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const CR0: u64 = CR0_PG | 1;
    const CR4: u64 = CR4_PAE;

    fn r(cr0: u64, cr3: u64, cr4: u64) -> Regs {
        Regs {
            cr0,
            cr3,
            cr4,
            efer: EFER_LMA,
        }
    }

    /// Entries of any width from a map of gpa -> entry.
    fn mem_w(entries: &[(u64, u64)]) -> impl FnMut(u64, usize) -> Option<u64> {
        let m: HashMap<u64, u64> = entries.iter().copied().collect();
        move |a, _| Some(*m.get(&a).unwrap_or(&0))
    }

    #[test]
    fn paging_modes_from_registers() {
        let mut x = r(CR0, 0, CR4);
        assert_eq!(Paging::of(&x), Paging::Long { levels: 4 });
        x.cr4 |= CR4_LA57;
        assert_eq!(Paging::of(&x), Paging::Long { levels: 5 });
        x.efer = 0;
        assert_eq!(Paging::of(&x), Paging::Pae);
        x.cr4 = CR4_PSE;
        assert_eq!(Paging::of(&x), Paging::TwoLevel { pse: true });
        x.cr0 = 1;
        assert_eq!(Paging::of(&x), Paging::Off);
    }

    #[test]
    fn two_level_and_pse() {
        // va 0x00801234: PDE[2] at cr3 0x1000 -> PT 0x5000, PTE[1] -> 0x9000.
        let m = [(0x1000 + 2 * 4, 0x5000 | 7), (0x5000 + 4, 0x9000 | 5)];
        let t = translate_with(
            Paging::TwoLevel { pse: false },
            0x1000,
            0x80_1234,
            mem_w(&m),
        );
        assert_eq!(t.map(|t| (t.gpa, t.page_size)), Ok((0x9234, 0x1000)));
        // A 4 MiB page at 0x1_0040_0000 (PSE-36: PDE bit 13 is address bit 32).
        let m = [(0x1000 + 4, 0x40_0000 | (1 << 13) | PS | 3)];
        let t = translate_with(Paging::TwoLevel { pse: true }, 0x1000, 0x40_0123, mem_w(&m));
        assert_eq!(
            t.map(|t| (t.gpa, t.page_size)),
            Ok((0x1_0040_0123, 0x40_0000))
        );
        // Without CR4.PSE, PS is ignored: the entry is a page table.
        let t = translate_with(
            Paging::TwoLevel { pse: false },
            0x1000,
            0x40_0123,
            mem_w(&m),
        );
        assert!(t.unwrap_err().contains("level-1"));
    }

    #[test]
    fn pae() {
        // va 0xc0201234: PDPTE[3] at cr3 0x1020 -> PD 0x2000, PDE[1] -> PT
        // 0x3000, PTE[1] -> 0x9000.
        let m = [
            (0x1020 + 3 * 8, 0x2000 | 1),
            (0x2000 + 8, 0x3000 | 3),
            (0x3000 + 8, (1 << 63) | 0x9000 | 3),
        ];
        let t = translate_with(Paging::Pae, 0x1020, 0xc020_1234, mem_w(&m)).unwrap();
        assert_eq!(
            (t.gpa, t.page_size, t.paging.name()),
            (0x9234, 0x1000, "PAE")
        );
        // A 2 MiB page.
        let m = [(0x1000, 0x2000 | 1), (0x2000, 0x40_0000 | PS | 3)];
        let t = translate_with(Paging::Pae, 0x1000, 0x1_2345, mem_w(&m)).unwrap();
        assert_eq!((t.gpa, t.page_size), (0x41_2345, 0x20_0000));
        assert!(translate_with(Paging::Pae, 0x1000, 1 << 32, mem_w(&m)).is_err());
    }

    #[test]
    fn errors_say_where_the_walk_stopped() {
        let e = translate_with(
            Paging::Long { levels: 4 },
            0x1000,
            0x7e57_0000_0000,
            mem_w(&[]),
        )
        .unwrap_err();
        assert!(e.contains("not mapped") && e.contains("level-4"), "{e}");
        let e =
            translate_with(Paging::Long { levels: 4 }, 0x1000, 0x1000, |_, _| None).unwrap_err();
        assert!(e.contains("cannot be read"), "{e}");
        assert_eq!(
            translate_with(Paging::Off, 0, 0x1234, |_, _| None).map(|t| t.gpa),
            Ok(0x1234)
        );
    }

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
            translate(&r(CR0, 0x1000 | 0x5, CR4), 0x401234, mem(&m)),
            Some(0x9234)
        );
        // not present at L1
        assert_eq!(translate(&r(CR0, 0x1000, CR4), 0x402234, mem(&m)), None);
        // paging off, or not PAE
        assert_eq!(translate(&r(0, 0x1000, CR4), 0x401234, mem(&m)), None);
        assert_eq!(translate(&r(CR0, 0x1000, 0), 0x401234, mem(&m)), None);
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
            translate(&r(CR0, 0x1000, CR4), 0xffff_ffff_8100_0123, mem(&m)),
            Some(0x100_0123)
        );
        // a 1 GiB page at L3
        let m = [(0x1000 + 8, 0x2000 | 3), (0x2000, 0x4000_0000 | PS | 3)];
        assert_eq!(
            translate(&r(CR0, 0x1000, CR4), 0x80_1234_5678, mem(&m)),
            Some(0x5234_5678)
        );
    }

    #[test]
    fn non_canonical_and_unreadable() {
        assert_eq!(
            translate(&r(CR0, 0x1000, CR4), 0x0000_8000_0000_0000, mem(&[])),
            None
        );
        assert_eq!(translate(&r(CR0, 0x1000, CR4), 0x1000, |_| None), None);
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
            translate(&r(CR0, 0x1000, CR4 | CR4_LA57), 0x401010, mem(&m)),
            Some(0x9010)
        );
        // canonical for 57 bits, not for 48
        assert_eq!(
            translate(&r(CR0, 0x1000, CR4), 0x0100_0000_0000_0000, mem(&m)),
            None
        );
    }
}
