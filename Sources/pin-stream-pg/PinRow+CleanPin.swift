import PinCore
import PinKafka
import PinPostgres

extension PinRow {
    /// The table row for a cleaned record and the Kafka message it came from.
    init(_ clean: CleanPin, from message: KafkaMessage) {
        self.init(
            ind: clean.ind, uniqueID: clean.uniqueID, title: clean.title, description: clean.description,
            followerCount: clean.followerCount, posterName: clean.posterName, tagList: clean.tagList,
            isImageOrVideo: clean.isImageOrVideo, imageSrc: clean.imageSrc, saveLocation: clean.saveLocation,
            category: clean.category, downloaded: clean.downloaded, kafkaPartition: message.partition,
            kafkaOffset: message.offset, rawValue: message.value)
    }
}
