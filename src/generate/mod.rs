//! The generator: deterministic synthetic support data in the canonical schema (see `data/README.md`).
//!
//! Four years of tickets (2021–2024) with a realistic shape: a channel mix, per-channel response times and
//! first-contact resolution, priority-dependent resolution times, tickets still open near the end, surveys
//! whose NPS and CSAT depend on the channel and on first-contact resolution, and SERVQUAL responses with a
//! gap per dimension. Behind them, the people: customers who sign up and churn, and agents who are hired
//! into a team and leave, answering a monthly pulse survey (eNPS). The same seed gives the same rows. Rows
//! are generated in batches and written by one writer per table, so memory stays bounded whatever the
//! number of tickets.
//!
//! The tables tell one story, as a support director would want to find it: each customer has a hidden
//! *difficulty* that makes their tickets take longer (more SLA breaches), their answers lower (more
//! detractors) and their churn likelier; each team has a *morale* that shows in its agents' eNPS answers, in
//! the CSAT of the tickets they handle and in how soon they leave. A customer or agent is a pure function of
//! the seed and its id (or team), so every month, generated in parallel, sees the same people: a ticket goes
//! to a customer who is a customer at its creation and to an agent of its team employed then.

use std::path::PathBuf;
use std::sync::mpsc::sync_channel;

use datafusion::arrow::array::RecordBatch;

use crate::error::{Error, Result};
use crate::generate::model::{
    CUSTOMERS_PER_PART, Month, People, agent_batch, customer_batches, generate_month, months,
};
use crate::generate::tables::Table;
use crate::writer::{AtomicFile, OutputFormat};

/// What to generate and where.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// The folder to write the tables into (created if needed): tickets, their history (ticket_events,
    /// messages), surveys, servqual, customers, agents, employee_pulse, and sla_policies.csv.
    pub out: PathBuf,
    /// Number of tickets.
    pub tickets: u64,
    /// Random seed: the same seed gives the same files.
    pub seed: u64,
    /// File format: parquet or csv (what cxsql reads back as tables).
    pub format: OutputFormat,
    /// Replace existing files.
    pub replace: bool,
    /// Tickets as a Hive-partitioned folder (tickets/year=Y/month=M/), surveys, servqual, employee_pulse,
    /// ticket_events and messages as folders of one file per month, customers in files of a million, generated in parallel.
    pub partitioned: bool,
}

mod history;
mod model;
mod tables;

/// Targets per channel and priority, in hours: the first reply and the resolution, on the clock named by
/// `clock` (`calendar`: around the clock; `default`: Mon–Fri 09:00–17:00 UTC business hours).
pub const SLA_POLICIES: &str = "\
channel,priority,first_reply_hours,resolution_hours,clock
chat,urgent,0.25,4,calendar
chat,high,0.5,8,calendar
chat,normal,1,24,calendar
chat,low,2,48,calendar
phone,urgent,0.25,4,calendar
phone,high,0.5,8,calendar
phone,normal,1,24,calendar
phone,low,2,48,calendar
email,urgent,1,8,default
email,high,4,16,default
email,normal,8,40,default
email,low,16,80,default
web,urgent,1,8,default
web,high,4,16,default
web,normal,8,40,default
web,low,16,80,default
social,urgent,1,8,calendar
social,high,2,24,calendar
social,normal,4,48,calendar
social,low,8,96,calendar
";

/// The most tickets `gen` writes: a month (1/48 of them) is generated in memory, about 100 bytes a ticket.
pub const MAX_TICKETS: u64 = 1_000_000_000;

/// Bytes written per ticket, its history, surveys, SERVQUAL responses and a third of a customer included:
/// measured on 20,000 tickets (228 for Parquet, 905 for CSV), with a margin.
fn bytes_per_ticket(format: OutputFormat) -> u64 {
    match format {
        OutputFormat::Csv => 1_100,
        _ => 300,
    }
}

/// Refuses to start when the files would not fit on the disk of `options.out`.
fn check_space(options: &GenOptions) -> Result<()> {
    let needed = options
        .tickets
        .saturating_mul(bytes_per_ticket(options.format));
    let Ok(stats) = rustix::fs::statvfs(&options.out) else {
        return Ok(());
    };
    let free = stats.f_bavail.saturating_mul(stats.f_frsize);
    if needed > free {
        return Err(Error::Usage(format!(
            "{}: {} tickets need about {} of disk space, and only {} is free there",
            options.out.display(),
            options.tickets,
            human_bytes(needed),
            human_bytes(free)
        )));
    }
    Ok(())
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1u32 << 20)),
        b => format!("{:.1} KB", b as f64 / 1024.0),
    }
}

/// Writes the tables into `options.out`: one file per table, or with `partitioned` a Hive-partitioned
/// `tickets/year=Y/month=M/` folder and `surveys/`, `servqual/` folders of one file per month, written by one
/// thread per core. Each month has its own random stream (from the seed and the month), so the rows are the
/// same either way and whatever the number of threads.
pub fn generate(options: &GenOptions) -> Result<()> {
    if !matches!(options.format, OutputFormat::Parquet | OutputFormat::Csv) {
        return Err(Error::Usage(format!(
            "generated data is written as parquet or csv, not {}",
            options.format
        )));
    }
    if options.tickets > MAX_TICKETS {
        return Err(Error::Usage(format!(
            "--tickets {}: at most {MAX_TICKETS} tickets are generated (about {} GB of {})",
            options.tickets,
            (MAX_TICKETS * bytes_per_ticket(options.format)) >> 30,
            options.format
        )));
    }
    let extension = options.format.extension();
    std::fs::create_dir_all(&options.out).map_err(|e| Error::io(&options.out, e))?;
    check_space(options)?;
    let targets: Vec<PathBuf> = Table::ALL
        .iter()
        .map(|t| match options.partitioned {
            false => options.out.join(format!("{}.{extension}", t.name())),
            true => options.out.join(t.name()),
        })
        .collect();
    if let Some(existing) = targets.iter().find(|p| p.exists()) {
        if !options.replace {
            return Err(Error::Exists {
                path: existing.clone(),
                what: if existing.is_dir() { "folder" } else { "file" },
            });
        }
        for target in targets.iter().filter(|p| p.is_dir()) {
            std::fs::remove_dir_all(target).map_err(|e| Error::io(target, e))?;
        }
    }
    // The SLA policy table the saved SLA queries join on: small and fixed, written beside the data.
    let policies = options.out.join("sla_policies.csv");
    if policies.exists() && !options.replace {
        return Err(Error::Exists {
            path: policies,
            what: "file",
        });
    }
    std::fs::write(&policies, SLA_POLICIES).map_err(|e| Error::io(&policies, e))?;
    let plan = months(options.tickets);
    let people = People::new(options.seed, options.tickets);
    if options.partitioned {
        return generate_partitioned(options, &plan, &people, extension);
    }
    std::thread::scope(|scope| {
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for (target, table) in targets.iter().zip(Table::ALL) {
            let (tx, rx) = sync_channel::<RecordBatch>(4);
            senders.push(tx);
            let format = options.format;
            handles.push(scope.spawn(move || {
                let (out, mut writer) =
                    AtomicFile::writer(target, format, table.schema(), table.sorted_by())?;
                for batch in rx {
                    writer.write(&batch)?;
                }
                writer.finish()?;
                Ok::<AtomicFile, Error>(out)
            }));
        }
        // The customers on a thread of their own, the months on this one.
        let customers_tx = senders[Table::Customers as usize].clone();
        let people = &people;
        let customers = scope.spawn(move || {
            customer_batches(people, 1..people.customers + 1, &mut |batch| {
                customers_tx
                    .send(batch)
                    .map_err(|_| Error::Internal("a writer stopped early".into()))
            })
        });
        let send = |table: Table, batch: RecordBatch| {
            senders[table as usize]
                .send(batch)
                .map_err(|_| Error::Internal("a writer stopped early".into()))
        };
        let generated = plan
            .iter()
            .try_for_each(|m| generate_month(m, people, &mut |table, batch| send(table, batch)))
            .and_then(|()| send(Table::Agents, agent_batch(people)?));
        drop(senders);
        let customers = customers
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the customer thread panicked".into())));
        let mut written = Vec::new();
        for handle in handles {
            match handle.join() {
                Ok(result) => written.push(result),
                Err(_) => written.push(Err(Error::Internal("a writer thread panicked".into()))),
            }
        }
        generated?;
        customers?;
        for out in written.into_iter().collect::<Result<Vec<AtomicFile>>>()? {
            out.commit()?;
        }
        Ok(())
    })
}

/// One piece of the partitioned output, written by one worker.
enum Work<'a> {
    Month(&'a Month),
    /// Chunk `index` of the customers: ids `ids`.
    Customers(usize, std::ops::Range<i64>),
    Agents,
}

fn generate_partitioned(
    options: &GenOptions,
    plan: &[Month],
    people: &People,
    extension: &str,
) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut work: Vec<Work> = plan.iter().map(Work::Month).collect();
    for (index, start) in (1..=people.customers)
        .step_by(CUSTOMERS_PER_PART as usize)
        .enumerate()
    {
        work.push(Work::Customers(
            index,
            start..(start + CUSTOMERS_PER_PART).min(people.customers + 1),
        ));
    }
    work.push(Work::Agents);
    let writer = |path: PathBuf, table: Table| {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        AtomicFile::writer(&path, options.format, table.schema(), table.sorted_by())
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = work.get(i) else {
                            return Ok(());
                        };
                        match item {
                            Work::Month(m) => {
                                let mut writers = Vec::new();
                                for table in Table::MONTHLY {
                                    let path = match table {
                                        Table::Tickets => format!(
                                            "tickets/year={}/month={}/part-0.{extension}",
                                            m.year, m.month
                                        ),
                                        _ => format!(
                                            "{}/part-{:02}.{extension}",
                                            table.name(),
                                            m.index
                                        ),
                                    };
                                    writers.push(writer(options.out.join(path), table)?);
                                }
                                generate_month(m, people, &mut |table, batch| {
                                    writers[table as usize].1.write(&batch)
                                })?;
                                for (out, writer) in writers {
                                    writer.finish()?;
                                    out.commit()?;
                                }
                            }
                            Work::Customers(index, ids) => {
                                let path = format!("customers/part-{index:02}.{extension}");
                                let (out, mut w) =
                                    writer(options.out.join(path), Table::Customers)?;
                                customer_batches(people, ids.clone(), &mut |batch| {
                                    w.write(&batch)
                                })?;
                                w.finish()?;
                                out.commit()?;
                            }
                            Work::Agents => {
                                let path = format!("agents/part-0.{extension}");
                                let (out, mut w) = writer(options.out.join(path), Table::Agents)?;
                                w.write(&agent_batch(people)?)?;
                                w.finish()?;
                                out.commit()?;
                            }
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| Error::Internal("a generator thread panicked".into()))??;
        }
        Ok(())
    })
}
