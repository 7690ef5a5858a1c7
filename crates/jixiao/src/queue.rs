//! `jixiao queue`: the Redis Streams scoring queue for operators — lag,
//! pending, dead letters — and replaying a dead letter.

use jixiao_queue::{RedisQueue, RedisQueueOptions};
use jixiao_server::Config;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Configuration file (redis_url, redis_prefix); JIXIAO_* variables override it.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// redis://… (default: the configuration's redis_url).
    #[arg(long)]
    pub redis_url: Option<String>,
    /// Put the dead letter with this id back on the queue.
    #[arg(long)]
    pub replay: Option<String>,
}

pub async fn run(args: Args) -> anyhow::Result<bool> {
    let flags: Vec<(&str, String)> = args
        .redis_url
        .iter()
        .map(|u| ("redis_url", u.clone()))
        .collect();
    let config = Config::load(args.config.as_deref(), std::env::vars(), &flags)?;
    if config.redis_url.is_empty() {
        anyhow::bail!("no redis_url configured: the in-process queue lives inside `jixiao serve`");
    }
    let queue = RedisQueue::connect(
        &config.redis_url,
        RedisQueueOptions {
            prefix: config.redis_prefix.clone(),
            group: "scoring".into(),
            max_deliveries: config.worker.max_deliveries,
            capacity: config.worker.queue_capacity,
        },
    )
    .await?;
    if let Some(id) = &args.replay {
        if queue.replay_dead_letter(id).await? {
            println!("dead letter {id} is queued again");
            return Ok(true);
        }
        println!("no dead letter {id}");
        return Ok(false);
    }
    let stats = queue.stats().await?;
    println!("queue {}:scoring-jobs", config.redis_prefix);
    println!("  lag (not yet delivered)   {}", stats.lag);
    println!("  pending (delivered, unacked) {}", stats.pending);
    println!("  dead letters              {}", stats.dead_letters);
    for (id, job) in queue.dead_letters(100).await? {
        println!(
            "  dead {id}  submission {}  rulebook {}",
            job.submission_id, job.rulebook_id
        );
    }
    Ok(true)
}
